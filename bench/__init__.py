"""Benchmarks of the warehouse and the synthetic national-scale DECP input they load."""
