"""Recommendations: the matching engine wired to the catalogue, needs, storage and the API.

``adapter`` turns database rows into the engine's records, ``index_cache`` keeps one catalog
index per process up to date from the outbox, ``service`` runs and stores recommendations,
``exposure`` reads the stored lists back as the rolling exposure the engine's fairness needs.
"""
