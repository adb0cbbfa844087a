"""The exchange node: institutions publish stamped tables, members find and request them,
stewards decide, and every publication, request, decision and release is recorded.

Modules, one concern each:

- :mod:`~soilbiome.node.storage`: content-addressed blob store (sha256 names only)
- :mod:`~soilbiome.node.migrations` / :mod:`~soilbiome.node.db`: schema, SQLite or PostgreSQL
- :mod:`~soilbiome.node.auth`: Ed25519-signed HTTP requests, replay protection
- :mod:`~soilbiome.node.audit`: append-only hash-chained audit log
- :mod:`~soilbiome.node.catalogue`: what a published table discloses, filters
- :mod:`~soilbiome.node.service`: publish, request, decide, release (no HTTP)
- :mod:`~soilbiome.node.drs`: GA4GH DRS objects and short-lived access URLs
- :mod:`~soilbiome.node.pages`: HTML pages (everything escaped, no script)
- :mod:`~soilbiome.node.app`: the Starlette application and its routes
- :mod:`~soilbiome.node.client`: the signed client used by ``soilbiome node ...``

See ``docs/node.md``.
"""
