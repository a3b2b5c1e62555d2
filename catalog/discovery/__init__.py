"""Discovery: the public catalogue as search documents, kept in step with the database, and
the search API. The backends themselves live in ``search``; this package feeds and asks them."""
