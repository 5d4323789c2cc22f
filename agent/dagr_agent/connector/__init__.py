"""Provider connectors (DU-12): sources (``sources``), the mapping/modes engine and the remote
runner (``dagr connector run``). Plain Python: usable by the server's hosted runs and by the
agent at a provider's site alike."""
