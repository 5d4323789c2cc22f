"""Access grants (DU-7) and the ONE condition engine: which records and fields a recipient sees.

For the retrieval API (which sits above this app and calls it; grants never imports records)::

    from dagr.grants.selectors import grant_active_for
    from dagr.grants.services import grant_use_register
    from dagr.grants.fields import project_fields

    grant = grant_active_for(                       # per-process cache: no query normally;
        institution_id=principal.institution_id,    # raises GrantUnavailable (403) with code
        dataset_id=dataset.pk,                      # grant_missing / grant_revoked /
        permission_number=request.headers[...],     # grant_expired / grant_not_yet_valid /
    )                                               # grant_invalid
    grant_use_register(grant_id=grant.id, quota=grant.quota)   # QuotaExceeded (429)
    today = timezone.localdate()                    # once per evaluation, for SQL and Python
    where, params = grant.where(column='"records_record"."data"', today=today)
    qs = Record.objects.filter(RawSQL(where, params, output_field=BooleanField()))  # search
    ok = grant.predicate(today=today)(record.data)                       # one record / feeds
    body = project_fields(record.data, grant.tree)  # only the granted (nested) fields

Semantics of conditions: ``dagr.grants.conditions``; cache and staleness bound:
``dagr.grants.cache``; who may do what: the "access grants" block of
``dagr.permissions.rules``.
"""
