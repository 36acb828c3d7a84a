"""Shared core of the ORCP warehouse: settings, database access, pipeline steps, the `orcp` command."""
