"""Test infrastructure for a real CKAN portal (see portal.py)."""
