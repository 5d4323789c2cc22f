"""THE registry of notification kinds: which audit action causes which notification, to whom,
with which template variables, and whether its e-mail may be turned off.

Triggering is explicit and in one place: ``dispatch.dispatch_pending`` reads each new
``AdminEntry`` and looks its dotted ``action`` up here (no model signals). A kind for a new
capability is one more ``Kind(...)`` below, and its default texts in ``defaults.py``.

Each kind documents its template context exactly (``variables``: name → what it is, and a sample
value for the preview). Every value is a plain string or number, so templates need no attribute
access at all: the validation refuses any variable not listed and any ``.attribute`` or
``[item]`` lookup, and the sandbox refuses the rest at render time. Common to every kind:
``recipient_name``, ``site_url`` and ``url`` (the page to open).

Actions written by the periodic check of this app (``checks.py``, once per event):
``notifications.grant.expiring``, ``notifications.grant.quota_high``,
``notifications.dataset.stale``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from dagr.accounts.models import Application, Membership, User
from dagr.audit.models import AdminEntry

# (recipients, context shared by them); ``recipient_name`` is added per recipient.
Resolved = tuple[list[User], dict[str, Any]]


@dataclass(frozen=True)
class Kind:
    key: str
    action: str
    label: Promise
    resolve: Callable[[AdminEntry], Resolved]
    variables: dict[str, tuple[Promise, Any]]
    # Security-relevant: the e-mail cannot be turned off (access to the account or its roles).
    security: bool = False
    # Several kinds may key on one action; ``when`` picks (e.g. approved vs. narrowed).
    when: Callable[[AdminEntry], bool] = field(default=lambda entry: True)

    @property
    def all_variables(self) -> dict[str, tuple[Promise, Any]]:
        return {**COMMON_VARIABLES, **self.variables}

    def sample_context(self) -> dict[str, Any]:
        return {name: sample for name, (_d, sample) in self.all_variables.items()}


COMMON_VARIABLES: dict[str, tuple[Promise, Any]] = {
    "recipient_name": (_("the recipient's full name"), "Anna Bērziņa"),
    "site_url": (_("the portal's address"), "https://dagr.example.lv"),
    "url": (_("the page to open (absolute link)"), "https://dagr.example.lv/grants/12/"),
}


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- recipient helpers -------------------------------------------------------------------------


def _active() -> Any:
    return User.objects.filter(status=User.Status.ACTIVE)


def users_with_role(institution_id: int | None, *roles: str) -> list[User]:
    if institution_id is None:
        return []
    return list(
        _active()
        .filter(
            memberships__institution_id=institution_id,
            memberships__role__in=roles,
            memberships__status=Membership.Status.ACTIVE,  # a suspended role gets nothing
        )
        .distinct()
        .order_by("pk")
    )


def admins() -> list[User]:
    return list(_active().filter(is_portal_admin=True).order_by("pk"))


def _user(pk: Any) -> list[User]:
    return list(User.objects.filter(pk=pk).exclude(status=User.Status.BLOCKED))


def _role_label(role: str | None) -> str:
    return str(dict(Membership.Role.choices).get(role or "", role or ""))


def _new(changes: dict[str, Any], key: str) -> Any:
    value = changes.get(key)
    return value[1] if isinstance(value, list) and len(value) == 2 else value


# --- resolvers: one per kind, from the audit entry to recipients and context ------------------


def _application(entry: AdminEntry) -> Application | None:
    return (
        Application.objects.select_related("user", "institution")
        .filter(pk=entry.target_id or 0)
        .first()
    )


def _application_context(application: Application) -> dict[str, Any]:
    return {
        "applicant_name": application.user.full_name,
        "applicant_email": application.user.email,
        "institution_name": application.institution.name,
        "roles": ", ".join(str(label) for label in application.role_labels),
        "note": application.decision_note,
    }


def resolve_application_received(entry: AdminEntry) -> Resolved:
    application = _application(entry)
    if application is None:
        return [], {}
    managers = users_with_role(application.institution_id, Membership.Role.SIGNATORY)
    recipients = {u.pk: u for u in [*managers, *admins()] if u.pk != application.user_id}
    context = _application_context(application)
    context["url"] = absolute_url(reverse("accounts:application", args=[application.pk]))
    return list(recipients.values()), context


def resolve_application_acknowledged(entry: AdminEntry) -> Resolved:
    application = _application(entry)
    if application is None:
        return [], {}
    context = _application_context(application)
    context["url"] = absolute_url(reverse("accounts:login"))
    return [application.user], context


def resolve_application_decided(entry: AdminEntry) -> Resolved:
    application = _application(entry)
    if application is None:
        return [], {}
    context = _application_context(application)
    user = application.user
    if user.has_usable_password():
        context["url"] = absolute_url(reverse("accounts:login"))
    else:  # an account created without a password: the link sets one (valid for a week)
        from dagr.accounts.emails import set_password_url

        context["url"] = set_password_url(user)
    return [user], context


def resolve_role(entry: AdminEntry) -> Resolved:
    changes = entry.changes or {}
    role = _new(changes, "role") or (changes.get("role") or [None])[0]
    institution = _new(changes, "institution") or (changes.get("institution") or [""])[0]
    return _user(entry.target_id), {
        "role": _role_label(role),
        "institution_name": institution or "",
        "url": absolute_url(reverse("accounts:profile")),
    }


def _grant(entry: AdminEntry) -> Any:
    from dagr.grants.models import Grant

    return (
        Grant.objects.select_related("dataset", "recipient", "dataset__provider")
        .filter(pk=entry.target_id or 0)
        .first()
    )


def _grant_context(grant: Any) -> dict[str, Any]:
    return {
        "dataset_title": grant.dataset.title_lv,
        "dataset_code": grant.dataset.code,
        "recipient_institution": grant.recipient.name,
        "provider_institution": grant.dataset.provider.name,
        "valid_until": grant.valid_until.isoformat() if grant.valid_until else "",
        "url": absolute_url(reverse("grants:detail", args=[grant.pk])),
    }


def resolve_access_requested(entry: AdminEntry) -> Resolved:
    grant = _grant(entry)
    if grant is None:
        return [], {}
    reps = users_with_role(grant.dataset.provider_id, Membership.Role.PROVIDER)
    return reps, _grant_context(grant)


def _to_recipient_reps(entry: AdminEntry, extra: dict[str, Any] | None = None) -> Resolved:
    grant = _grant(entry)
    if grant is None:
        return [], {}
    reps = users_with_role(grant.recipient_id, Membership.Role.RECIPIENT)
    context = _grant_context(grant)
    context["note"] = str((entry.changes or {}).get("note") or "")
    context.update(extra or {})
    return reps, context


def resolve_request_decided(entry: AdminEntry) -> Resolved:
    return _to_recipient_reps(entry)


def resolve_grant_expiring(entry: AdminEntry) -> Resolved:
    return _to_recipient_reps(entry, {"days": int((entry.changes or {}).get("days") or 0)})


def resolve_grant_quota(entry: AdminEntry) -> Resolved:
    changes = entry.changes or {}
    return _to_recipient_reps(
        entry, {"used": int(changes.get("used") or 0), "quota": int(changes.get("quota") or 0)}
    )


def resolve_dataset_stale(entry: AdminEntry) -> Resolved:
    from dagr.catalog.models import Dataset

    dataset = Dataset.objects.filter(pk=entry.target_id or 0).first()
    if dataset is None:
        return [], {}
    return users_with_role(dataset.provider_id, Membership.Role.PROVIDER), {
        "dataset_title": dataset.title_lv,
        "dataset_code": dataset.code,
        "last_loaded": str((entry.changes or {}).get("last_loaded") or ""),
        "url": absolute_url(reverse("catalog:dataset_manage", args=[dataset.code])),
    }


def resolve_webhook_suspended(entry: AdminEntry) -> Resolved:
    from dagr.monitoring.models import Subscription

    subscription = (
        Subscription.objects.select_related("record_set").filter(pk=entry.target_id or 0).first()
    )
    if subscription is None:
        return [], {}
    record_set = subscription.record_set
    return users_with_role(record_set.institution_id, Membership.Role.RECIPIENT), {
        "record_set_name": record_set.name,
        "webhook_url": subscription.url,
        "reason": str((entry.changes or {}).get("reason") or ""),
        "url": absolute_url(reverse("monitoring:webhook", args=[record_set.pk])),
    }


def resolve_release_published(entry: AdminEntry) -> Resolved:
    """``anonymisation.release.published`` (built in parallel): the entry's institution is the
    dataset's provider and its target the release; only the entry is read, not the release
    model, so this kind does not depend on how that app stores releases."""
    from dagr.catalog.models import Dataset

    changes = entry.changes or {}
    dataset = None
    code = changes.get("dataset") if isinstance(changes.get("dataset"), str) else None
    if code:
        dataset = Dataset.objects.filter(code=code).first()
    institution_id = dataset.provider_id if dataset else entry.institution_id
    return users_with_role(institution_id, Membership.Role.PROVIDER), {
        "release_label": entry.target_label,
        "release_id": entry.target_id,
        "dataset_code": dataset.code if dataset else (code or ""),
        "url": absolute_url(
            reverse("catalog:dataset_manage", args=[dataset.code]) if dataset else "/"
        ),
    }


def resolve_connector_run_failed(entry: AdminEntry) -> Resolved:
    """``connectors.run.failed``: the provider's representatives (the entry's institution); the
    target is the connector, the changes name the run and its (secret-masked) error."""
    from dagr.connectors.models import Run
    from dagr.connectors.selectors import run_error_text

    changes = entry.changes or {}
    run_id = changes.get("run")
    path = (
        reverse("connectors:run", args=[entry.target_id, run_id])
        if run_id and entry.target_id
        else "/"
    )
    # The run's coded error line in the language being resolved (the stored error is in the
    # worker's language); the stored error when the run or its line is gone.
    run = Run.objects.filter(pk=run_id, connector_id=entry.target_id).first() if run_id else None
    error = run_error_text(run) if run is not None else ""
    return users_with_role(entry.institution_id, Membership.Role.PROVIDER), {
        "connector_name": entry.target_label,
        "error": (error or str(changes.get("error", "")))[:300],
        "url": absolute_url(path),
    }


def _narrowed(entry: AdminEntry) -> bool:
    return bool((entry.changes or {}).get("narrowed"))


_APPLICATION_VARS: dict[str, tuple[Promise, Any]] = {
    "applicant_name": (_("the applicant's full name"), "Jānis Kalniņš"),
    "applicant_email": (_("the applicant's e-mail address"), "janis.kalnins@vid.gov.lv"),
    "institution_name": (_("the institution applied to"), "Valsts ieņēmumu dienests"),
    "roles": (_("the roles applied for, comma-separated"), "datu ņēmēja pārstāvis"),
    "note": (_("the decision's note (may be empty)"), ""),
}
_ROLE_VARS: dict[str, tuple[Promise, Any]] = {
    "role": (_("the role's name"), "datu devēja pārstāvis"),
    "institution_name": (_("the institution"), "Valsts ieņēmumu dienests"),
}
_GRANT_VARS: dict[str, tuple[Promise, Any]] = {
    "dataset_title": (_("the dataset's title"), "Iedzīvotāju reģistrs"),
    "dataset_code": (_("the dataset's code"), "iedz-registrs"),
    "recipient_institution": (_("the data recipient institution"), "Valsts policija"),
    "provider_institution": (_("the data provider institution"), "PMLP"),
    "valid_until": (_("the grant's end date (may be empty)"), "2027-06-30"),
}
_GRANT_DECIDED_VARS = {**_GRANT_VARS, "note": (_("the decision's note (may be empty)"), "")}

KINDS: list[Kind] = [
    Kind(
        "application_received",
        "accounts.application.submitted",
        _("Account application received"),
        resolve_application_received,
        _APPLICATION_VARS,
    ),
    Kind(
        "application_acknowledged",
        "accounts.application.submitted",
        _("Your account application was received"),
        resolve_application_acknowledged,
        _APPLICATION_VARS,
        security=True,
    ),
    Kind(
        "application_approved",
        "accounts.application.approved",
        _("Account application approved"),
        resolve_application_decided,
        _APPLICATION_VARS,
        security=True,
    ),
    Kind(
        "application_rejected",
        "accounts.application.rejected",
        _("Account application rejected"),
        resolve_application_decided,
        _APPLICATION_VARS,
        security=True,
    ),
    Kind(
        "role_granted",
        "accounts.membership.granted",
        _("Role granted"),
        resolve_role,
        _ROLE_VARS,
        security=True,
    ),
    Kind(
        "role_revoked",
        "accounts.membership.revoked",
        _("Role withdrawn"),
        resolve_role,
        _ROLE_VARS,
        security=True,
    ),
    Kind(
        "access_requested",
        "grants.grant.requested",
        _("Access request received"),
        resolve_access_requested,
        _GRANT_VARS,
    ),
    Kind(
        "request_approved",
        "grants.grant.approved",
        _("Access request approved"),
        resolve_request_decided,
        _GRANT_DECIDED_VARS,
        when=lambda entry: not _narrowed(entry),
    ),
    Kind(
        "request_narrowed",
        "grants.grant.approved",
        _("Access request approved in part"),
        resolve_request_decided,
        _GRANT_DECIDED_VARS,
        when=_narrowed,
    ),
    Kind(
        "request_rejected",
        "grants.grant.rejected",
        _("Access request rejected"),
        resolve_request_decided,
        _GRANT_DECIDED_VARS,
    ),
    Kind(
        "grant_expiring",
        "notifications.grant.expiring",
        _("Access grant expiring"),
        resolve_grant_expiring,
        {**_GRANT_VARS, "days": (_("days left (30 or 7)"), 30)},
    ),
    Kind(
        "grant_quota",
        "notifications.grant.quota_high",
        _("Access grant daily quota 80 percent used"),
        resolve_grant_quota,
        {
            **_GRANT_VARS,
            "used": (_("requests made today"), 800),
            "quota": (_("requests allowed per day"), 1000),
        },
    ),
    Kind(
        "dataset_stale",
        "notifications.dataset.stale",
        _("Dataset not refreshed for 24 hours"),
        resolve_dataset_stale,
        {
            "dataset_title": (_("the dataset's title"), "Iedzīvotāju reģistrs"),
            "dataset_code": (_("the dataset's code"), "iedz-registrs"),
            "last_loaded": (_("when data was last loaded (may be empty)"), "2026-12-06 07:00"),
        },
    ),
    Kind(
        "webhook_suspended",
        "monitoring.subscription.suspended",
        _("Webhook suspended"),
        resolve_webhook_suspended,
        {
            "record_set_name": (_("the record set's name"), "Klienti"),
            "webhook_url": (_("the webhook's address"), "https://saņēmējs.example.lv/hook"),
            "reason": (_("the failure code"), "http_503"),
        },
    ),
    Kind(
        "release_published",
        "anonymisation.release.published",
        _("Test data release published"),
        resolve_release_published,
        {
            "release_label": (_("the release's name"), "Iedzīvotāju reģistrs – testa dati v3"),
            "release_id": (_("the release's id"), "3"),
            "dataset_code": (_("the dataset's code"), "iedz-registrs"),
        },
    ),
    Kind(
        "connector_run_failed",
        "connectors.run.failed",
        _("Connector run failed"),
        resolve_connector_run_failed,
        {
            "connector_name": (_("the connector's name"), "Iedzīvotāju reģistrs (nakts)"),
            "error": (_("what went wrong (secrets masked)"), "source unavailable"),
        },
    ),
]

BY_KEY: dict[str, Kind] = {kind.key: kind for kind in KINDS}


def kinds_for(entry: AdminEntry) -> Iterable[Kind]:
    return [kind for kind in KINDS if kind.action == entry.action and kind.when(entry)]


def actions() -> set[str]:
    return {kind.action for kind in KINDS}


def get(key: str) -> Kind:
    return BY_KEY[key]


def action_q() -> Q:
    return Q(action__in=sorted(actions()))
