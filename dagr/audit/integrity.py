"""What makes the audit trails evidence: keyed digests, signed checkpoints outside the database,
and ``dagr audit verify``. The keys and digests live in ``chains``, the checkpoints in
``checkpoints``, the verification in ``verification``; this module re-exports them.

- Digests (version 2): every entry's ``entry_hash`` is HMAC-SHA256 under the chain key
  (``settings.AUDIT_CHAIN_KEY``, never in the database) over the previous digest, the canonical
  JSON of *every* column (access: incl. ``duration_ms``, segment and sequence number; admin: all
  fields incl. ``seq``) and, for accesses, the sorted subject hashes. Whoever can write the
  database but lacks the key cannot edit an entry and recompute the chain. Version 1 access
  entries (before this scheme: unkeyed SHA-256, fewer columns, subjects not covered) are still
  checked, and reported as legacy; version 1 admin entries had no chain at all.
- Checkpoints: a signed (Ed25519) record of every chain head — segment, last sequence number,
  last digest, count — appended to a log outside the audit tables (``CheckpointStore``; a file
  by default). Each checkpoint names the digest of the previous one, so the log is a chain too.
  Deleting a segment, cutting a tail or emptying the tables is then reported by ``verify``; an
  exported checkpoint kept by an outsider (``dagr audit checkpoint --export``) proves the same
  even against someone who can also rewrite the checkpoint log.
- Verification reads rows with plain SQL in id order through server-side cursors; incremental
  verification starts from a signed record of the last verified state.
"""

from .chains import (
    ACCESS_COLUMNS,
    ADMIN_COLUMNS,
    CHECKPOINT_FORMAT,
    GENESIS,
    V1_FIELDS,
    VERIFIED_FORMAT,
    VERSION,
    access_digest,
    access_digest_v1,
    admin_digest,
    at_text,
    chain_key,
    keyed,
    keyed_setting,
    public_key_pem,
    signing_key,
)
from .checkpoints import (
    CheckpointStore,
    FileCheckpointStore,
    chain_heads,
    checkpoint_digest,
    checkpoint_export,
    checkpoint_store,
    checkpoint_write,
    signature_valid,
)
from .verification import (
    Problem,
    VerifyReport,
    audit_verify,
)

__all__ = [
    "ACCESS_COLUMNS",
    "ADMIN_COLUMNS",
    "CHECKPOINT_FORMAT",
    "GENESIS",
    "V1_FIELDS",
    "VERIFIED_FORMAT",
    "VERSION",
    "CheckpointStore",
    "FileCheckpointStore",
    "Problem",
    "VerifyReport",
    "access_digest",
    "access_digest_v1",
    "admin_digest",
    "at_text",
    "audit_verify",
    "chain_heads",
    "chain_key",
    "checkpoint_digest",
    "checkpoint_export",
    "checkpoint_store",
    "checkpoint_write",
    "keyed",
    "keyed_setting",
    "public_key_pem",
    "signature_valid",
    "signing_key",
]
