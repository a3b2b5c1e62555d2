"""Verified ratings and reviews of providers, written by the SME party of a completed engagement."""
