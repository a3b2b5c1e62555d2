"""Signed webhooks: organisations receive the market events that concern them over HTTP."""
