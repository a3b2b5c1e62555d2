"""Demo and synthetic data sets."""
