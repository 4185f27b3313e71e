"""Helpers for the Exercise 3 report: data, models, training loops, metrics, plots, caching."""
__version__ = "1.0.0"
