"""The recipient sync connector (DU-14): ``dagr sync --config sync.yaml``.

Keeps tables in the recipient's own database (PostgreSQL, MariaDB/MySQL, SQLite) in step with
DAGR datasets through the change feed (``docs/change-feed.md``). Plain Python: it talks to DAGR
only over HTTP and imports neither Django nor any DAGR server app, so it runs from a
``pip install`` without a DAGR database. See ``docs/sync.md``.
"""
