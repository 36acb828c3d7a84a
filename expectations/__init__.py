"""Data quality gate: Great Expectations suites over the marts; a critical failure blocks publication."""
