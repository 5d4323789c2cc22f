"""Record sets' services as other modules call them, re-exported from where they live:

- ``record_sets``: define, change and delete a record set (grant, identifier field, conditions);
- ``record_set_values``: the watched values, changed in calls or imported from a CSV file;
- ``record_set_feed``: membership and the record set's change feed.

Subscriptions (webhooks) and their deliveries are ``deliveries``.
"""

from .record_set_feed import (
    FEED_SCAN_FACTOR,
    FEED_SCAN_MIN,
    Member,
    forget_values,
    record_set_changes,
    record_set_member,
    record_set_terms,
    watched_values,
)
from .record_set_values import (
    IdentifiersChanged,
    record_set_identifiers_change,
    record_set_identifiers_import_csv,
)
from .record_sets import (
    MAX_CSV_BYTES,
    MAX_NAME_LENGTH,
    MAX_REPORTED_ERRORS,
    MAX_VALUE_LENGTH,
    MAX_VALUES_PER_CALL,
    max_identifiers,
    record_set_create,
    record_set_delete,
    record_set_update,
)

__all__ = [
    "FEED_SCAN_FACTOR",
    "FEED_SCAN_MIN",
    "MAX_CSV_BYTES",
    "MAX_NAME_LENGTH",
    "MAX_REPORTED_ERRORS",
    "MAX_VALUES_PER_CALL",
    "MAX_VALUE_LENGTH",
    "IdentifiersChanged",
    "Member",
    "forget_values",
    "max_identifiers",
    "record_set_changes",
    "record_set_create",
    "record_set_delete",
    "record_set_identifiers_change",
    "record_set_identifiers_import_csv",
    "record_set_member",
    "record_set_terms",
    "record_set_update",
    "watched_values",
]
