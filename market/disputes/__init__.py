"""Disputes (调解) between the parties of an engagement, mediated by the pool's curators."""
