"""The record retrieval API for recipient systems and the portal's data viewer (DU-10, DU-11),
with an audit entry for every access.

Both entry points call the same functions in ``services`` (one per operation), so the API and
the viewer always give the same answer. The hot path (get by identifier, batch lookup) runs
without the ORM: the dataset definition and the grant come from per-process caches
(``datasets``, ``dagr.grants.cache``), records from one hand-written SQL query
(``dagr.records.queries``).
"""
