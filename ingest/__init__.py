"""Ingestion: download sources to the landing directory and load them, as they came, into raw."""
