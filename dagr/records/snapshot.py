"""Snapshot safety: the one rule that decides whether a snapshot load may delete the live records
it does not hold. The API, the portal upload (preview and load) and connectors all ask it."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from dagr.core.errors import Conflict


def snapshot_max_delete_share() -> float:
    """The share of a dataset's live records a snapshot may delete without a confirmation
    (``DAGR_SNAPSHOT_MAX_DELETE_SHARE``, 0.5 by default)."""
    return float(getattr(settings, "DAGR_SNAPSHOT_MAX_DELETE_SHARE", 0.5))


def snapshot_needs_confirmation(*, received: int, live: int, would_delete: int) -> bool:
    """Whether a snapshot of ``received`` records that would delete ``would_delete`` of the
    dataset's ``live`` records may run only with ``confirm_deletions`` equal to
    ``would_delete``: it holds no records at all, or it deletes more than the allowed share.
    The API, the portal upload (preview and load) and connectors all ask this one rule."""
    return received == 0 or would_delete > live * snapshot_max_delete_share()


def snapshot_deletions_problem(
    *, received: int, live: int, would_delete: int, confirm_deletions: int | None
) -> Conflict | None:
    """``None`` when the snapshot may delete ``would_delete`` records; otherwise the refusal
    (409 ``snapshot_deletions_unconfirmed``) naming the number. A ``confirm_deletions`` that is
    given must equal ``would_delete`` exactly, needed or not."""
    if confirm_deletions == would_delete:
        return None
    if confirm_deletions is None and not snapshot_needs_confirmation(
        received=received, live=live, would_delete=would_delete
    ):
        return None
    if confirm_deletions is not None:
        message = _(
            "The confirmed number of deletions (%(confirmed)s) does not match: this snapshot "
            "would delete %(would_delete)s of the %(live)s live records. Nothing was written."
        ) % {"confirmed": confirm_deletions, "would_delete": would_delete, "live": live}
    elif received == 0:
        message = _(
            "The snapshot holds no records: it would delete all %(would_delete)s of the "
            "%(live)s live records. Nothing was written; confirm exactly %(would_delete)s "
            "deletions to load it."
        ) % {"would_delete": would_delete, "live": live}
    else:
        message = _(
            "This snapshot would delete %(would_delete)s of the %(live)s live records, more "
            "than %(share)s%% of them. Nothing was written; confirm exactly %(would_delete)s "
            "deletions to load it."
        ) % {
            "would_delete": would_delete,
            "live": live,
            "share": f"{snapshot_max_delete_share() * 100:g}",
        }
    return Conflict(
        message,
        code="snapshot_deletions_unconfirmed",
        would_delete=would_delete,
        live=live,
        received=received,
        confirm_deletions=confirm_deletions,
        max_delete_share=snapshot_max_delete_share(),
    )
