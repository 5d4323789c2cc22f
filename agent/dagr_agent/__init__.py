"""DAGR agent: the programs that run outside the DAGR server (distribution ``dagr-agent``).

- ``dagr_agent.sync`` — the recipient sync connector (``dagr sync``, docs/sync.md);
- ``dagr_agent.connector`` — provider connectors: sources, mapping, the remote runner
  (``dagr connector run``, docs/agent.md);
- ``dagr_agent.parsing`` — the streaming CSV/XLSX/JSON/NDJSON readers shared with the server's
  uploads;
- ``dagr_agent.netguard`` — the one check that outgoing connections go to public addresses.

Python >= 3.11, no Django, no DAGR server app (import-linter contract ``agent-is-standalone``).
"""

__version__ = "0.1.0"
