"""Writes of the CKAN sync: the institutions' portal settings, publishing and withdrawing a
dataset, and the worker's sync run (``publication_sync``).

A sync run (one dataset, one CKAN):

1. ``organization_show`` (the organisation's id; also proves the token's portal answers);
2. ``package_show`` of the package we made (by id, else by name); a package of that name that
   describes another dataset (its ``uri`` is not our dataset IRI) is never taken over: the name
   is reported as taken;
3. no package → ``package_create`` with the resources; a package → the fields this mapping owns
   are compared and only the differing ones sent with ``package_patch`` (nothing when nothing
   differs: a second sync only reads), then each distribution's resource, keyed by its ``uri``
   (the distribution IRI), is patched (``resource_patch``) or created, and resources we made for
   distributions that are gone are deleted; a deleted package is made active again by the patch;
4. withdrawing: ``package_delete`` (CKAN marks the package ``state: deleted``), nothing when it
   is already deleted or gone. The package mirrors DAGR's open data catalogue: a dataset
   withdrawn from it, or retired, is withdrawn from CKAN too (its publication stays wanted, so
   publishing it in the catalogue again restores the package).

One run per publication at a time: a run first claims the publication (``_claim``, an atomic
conditional UPDATE, on SQLite and PostgreSQL alike); a second run meanwhile does nothing and
returns ``busy``, and the first queues one more run if a sync was asked for while it worked.

Errors: a 409 keeps CKAN's field errors on the publication (pages explain them next to the
field, ``messages.py``), a 403 says the token was refused; neither is retried. A 5xx, a timeout
or a refused connection is retried by the worker after ``backoff_seconds`` (the monitoring's
webhook backoff: 5 s · 2^(n-1), at most 1 h, plus jitter) up to ``MAX_FAILURES`` times.
Every run writes a log entry; every change in CKAN and every failure writes an audit entry (the
system's), every change of the settings and every publish/withdraw request one of the person's.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.accounts.models import Institution
from dagr.audit.services import admin_entry_create
from dagr.catalog.models import Dataset
from dagr.core import crypto
from dagr.core.actors import SYSTEM, Actor
from dagr.core.errors import NotFound, PermissionDenied, ValidationError
from dagr.monitoring.deliveries import backoff_seconds
from dagr.opendata.selectors import (
    dataset_graph,
    dataset_in_open_catalog,
    dataset_iri,
    dataset_publishable,
)
from dagr.permissions import rules

from . import mapping
from .client import CkanClient, CkanError, base_url_check
from .models import PortalConfig, Publication, SyncLogEntry

MAX_FAILURES = 8
NAME_RE = re.compile(r"^[a-z0-9_\-]{2,100}$")
Status = Publication.Status
Outcome = SyncLogEntry.Outcome


def _field_error(field: str, message: str) -> ValidationError:
    return ValidationError(message, errors=[{"location": field, "message": message}])


# --- settings ----------------------------------------------------------------------------------


def portal_config_save(
    *, actor: Actor, institution: Institution, base_url: str, organization: str, token: str
) -> PortalConfig:
    """Create or change the institution's portal settings. An empty ``token`` keeps the stored
    one (a first save needs one). The token is stored encrypted and written nowhere else."""
    if not rules.can_manage_open_data_portal(actor, institution):
        raise PermissionDenied(
            _("You may not change this institution's open data portal settings.")
        )
    base_url = base_url.strip().rstrip("/")
    organization = organization.strip()
    token = token.strip()
    try:
        base_url_check(base_url)
    except ValidationError as exc:
        raise _field_error("base_url", str(exc.message)) from None
    if not NAME_RE.match(organization):
        raise _field_error(
            "organization",
            _(
                "Use the organisation's name from the portal: 2–100 lowercase Latin letters, "
                "digits, - and _."
            ),
        )
    with transaction.atomic():
        config = PortalConfig.objects.select_for_update().filter(institution=institution).first()
        if config is None and not token:
            raise _field_error("token", _("Enter the API token."))
        before = (
            {"base_url": config.base_url, "organization": config.organization}
            if config is not None
            else {"base_url": None, "organization": None}
        )
        created = config is None
        if config is None:
            config = PortalConfig(institution=institution)
        config.base_url = base_url
        config.organization = organization
        if token:
            config.token_encrypted = crypto.encrypt(token)
        config.save()
        changes: dict[str, Any] = {
            key: [before[key], getattr(config, key)]
            for key in ("base_url", "organization")
            if before[key] != getattr(config, key)
        }
        if token:
            changes["token"] = ["•••", "••• (new)"] if not created else [None, "•••"]
        admin_entry_create(
            action="ckan.config.created" if created else "ckan.config.updated",
            actor=actor,
            target=institution,
            institution_id=institution.pk,
            changes=changes,
        )
    return config


# --- publish / withdraw ------------------------------------------------------------------------


def _enqueue(publication_id: int, *, run_after: Any = None) -> None:
    # tasks.py imports this module, so a top-level import of it would be an import cycle
    from .tasks import publication_sync_task

    task = publication_sync_task
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return
        task = task.using(run_after=run_after)
    task.enqueue(publication_id=publication_id)


def dataset_publish(*, actor: Actor, dataset: Dataset, package_name: str = "") -> Publication:
    """Ask for the dataset to be published (or updated) in the institution's portal; the worker
    does it."""
    if not rules.can_publish_open_data(actor, dataset):
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    if not PortalConfig.objects.filter(institution_id=dataset.provider_id).exists():
        raise ValidationError(
            _("The open data portal settings of the institution are missing; set them first."),
            code="ckan_not_configured",
        )
    if not (dataset_in_open_catalog(dataset) and dataset_publishable(dataset)):
        raise ValidationError(
            _("The dataset's open data description has errors or is not public; fix it first."),
            code="ckan_not_publishable",
        )
    with transaction.atomic():
        publication = Publication.objects.select_for_update().filter(dataset=dataset).first()
        name = (package_name or "").strip() or (
            publication.package_name if publication else mapping.package_name(dataset.code)
        )
        if not NAME_RE.match(name) or name in ("new", "edit", "search"):
            raise _field_error(
                "package_name",
                _("Use 2–100 lowercase Latin letters, digits, - and _ (not new, edit or search)."),
            )
        if publication is None:
            publication = Publication(dataset=dataset, package_name=name)
        before = {"wanted": publication.wanted if publication.pk else None}
        publication.package_name = name
        publication.wanted = True
        publication.status = Status.PENDING
        publication.failures = 0
        publication.next_attempt_at = None
        publication.generation += 1
        publication.save()
        admin_entry_create(
            action="ckan.publication.requested",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes={"package_name": name, "wanted": [before["wanted"], True]},
        )
        pk = publication.pk
        transaction.on_commit(lambda: _enqueue(pk))
    return publication


def dataset_unpublish(*, actor: Actor, dataset: Dataset) -> Publication:
    """Ask for the dataset's package to be marked deleted in the portal."""
    if not rules.can_publish_open_data(actor, dataset):
        raise NotFound(_("No such dataset."), code="dataset_not_found")
    with transaction.atomic():
        publication = Publication.objects.select_for_update().filter(dataset=dataset).first()
        if publication is None or not publication.wanted:
            raise ValidationError(
                _("The dataset is not published in the open data portal."),
                code="ckan_not_published",
            )
        publication.wanted = False
        publication.status = Status.PENDING
        publication.failures = 0
        publication.next_attempt_at = None
        publication.generation += 1
        publication.save()
        admin_entry_create(
            action="ckan.publication.withdrawn",
            actor=actor,
            target=dataset,
            institution_id=dataset.provider_id,
            changes={"wanted": [True, False], "package_name": publication.package_name},
        )
        pk = publication.pk
        transaction.on_commit(lambda: _enqueue(pk))
    return publication


def resync_on_metadata_change(dataset_id: int) -> bool:
    """The dataset's metadata changed: queue a sync if it is published (or being published)."""
    with transaction.atomic():
        publication = (
            Publication.objects.select_for_update()
            .filter(dataset_id=dataset_id, wanted=True)
            .first()
        )
        if publication is None:
            return False
        publication.generation += 1
        if publication.status != Status.RETRYING:  # a retry is already on its way
            publication.status = Status.PENDING
        publication.save(update_fields=["generation", "status", "updated_at"])
        pk = publication.pk
        transaction.on_commit(lambda: _enqueue(pk))
    return True


# --- the sync run (worker) ---------------------------------------------------------------------


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _same(a: Any, b: Any) -> bool:
    if _empty(a) and _empty(b):
        return True
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _differences(
    wanted: dict[str, Any], current: dict[str, Any], owned: tuple[str, ...]
) -> dict[str, Any]:
    """The owned fields whose wanted value differs from CKAN's (a field we no longer have is
    cleared)."""
    out: dict[str, Any] = {}
    for key in owned:
        value = wanted.get(key)
        if not _same(value, current.get(key)):
            out[key] = value if value is not None else ""
    return out


class _Run:
    """One sync run's HTTP work; ``changes`` lists what it did in CKAN."""

    def __init__(self, publication: Publication, config: PortalConfig) -> None:
        self.publication = publication
        self.client = CkanClient(config.base_url, crypto.decrypt(config.token_encrypted))
        self.organization = config.organization
        self.changes: list[str] = []
        self.package_id = publication.package_id
        self.resource_ids: dict[str, str] = dict(publication.resource_ids or {})

    def _find(self, iri: str) -> dict[str, Any] | None:
        """The package this publication made: by its id, else by name, a package describing
        this dataset (``uri`` = the dataset IRI). A package of that name describing anything
        else — or nothing — belongs to someone else and is never taken over."""
        for key, by_id in (
            (self.publication.package_id, True),
            (self.publication.package_name, False),
        ):
            if not key:
                continue
            try:
                package = self.client.call("package_show", {"id": key})
            except CkanError as exc:
                if exc.kind == "not_found":
                    continue
                raise
            if by_id or package.get("uri") == iri:
                return dict(package)
            raise CkanError(
                kind="validation",
                status=409,
                message="name taken",
                fields={"name": ["That URL is already in use."]},
            )
        return None

    def publish(self, graph: Any, iri: str) -> str:
        org = self.client.call("organization_show", {"id": self.organization})
        package, resources = mapping.package_dict(
            graph, iri, name=self.publication.package_name, owner_org=str(org["id"])
        )
        current = self._find(iri)
        if current is None:
            try:
                created = self.client.call("package_create", {**package, "resources": resources})
            except CkanError as exc:
                # another run of this publication created it a moment ago: adopt it if it is
                # ours (``_find`` by name raises the name error again if it is not)
                if exc.kind != "validation" or "name" not in exc.fields:
                    raise
                current = self._find(iri)
                if current is None:
                    raise
            else:
                self.package_id = str(created["id"])
                self.resource_ids = {
                    str(r["uri"]): str(r["id"])
                    for r in created.get("resources", [])
                    if r.get("uri")
                }
                self.changes.append("package created")
                return Outcome.CREATED
        self.package_id = str(current["id"])
        patch = _differences(package, current, mapping.PACKAGE_FIELDS)
        if current.get("state") != "active":
            patch["state"] = "active"
        if patch:
            self.client.call("package_patch", {"id": self.package_id, **patch})
            self.changes.append("package: " + ", ".join(sorted(patch)))
        by_uri = {str(r.get("uri")): r for r in current.get("resources", []) if r.get("uri")}
        ours = set(self.resource_ids) | set(by_uri)
        wanted_uris = {r["uri"] for r in resources}
        ids: dict[str, str] = {}
        for resource in resources:
            existing = by_uri.get(resource["uri"])
            if existing is None:
                made = self.client.call(
                    "resource_create", {"package_id": self.package_id, **resource}
                )
                ids[resource["uri"]] = str(made["id"])
                self.changes.append(f"resource created: {resource['uri']}")
                continue
            ids[resource["uri"]] = str(existing["id"])
            diff = _differences(resource, existing, mapping.RESOURCE_FIELDS)
            if diff:
                self.client.call("resource_patch", {"id": existing["id"], **diff})
                self.changes.append(f"resource updated: {resource['uri']}")
        for uri in sorted(ours - wanted_uris):
            stale = by_uri.get(uri)
            if stale is not None and uri in self.resource_ids:  # only resources we made
                self.client.call("resource_delete", {"id": stale["id"]})
                self.changes.append(f"resource deleted: {uri}")
        self.resource_ids = ids
        return Outcome.UPDATED if self.changes else Outcome.UNCHANGED

    def withdraw(self, iri: str) -> str:
        current = self._find(iri)
        if current is None or current.get("state") == "deleted":
            return Outcome.UNCHANGED
        self.client.call("package_delete", {"id": current["id"]})
        self.package_id = str(current["id"])
        self.changes.append("package deleted")
        return Outcome.DELETED


def _config_of(publication: Publication) -> PortalConfig | None:
    return PortalConfig.objects.filter(institution_id=publication.dataset.provider_id).first()


# How long a run's claim on its publication holds: longer than any run takes (a run makes a few
# dozen requests, each bounded by the client's timeouts); a run that died is taken over after it.
SYNC_LEASE = timedelta(minutes=15)
BUSY = "busy"


def _claim(publication_id: int) -> str | None:
    """Claim the publication for one sync run: a single UPDATE that matches only when no other
    run holds an unexpired claim. The database makes it atomic (PostgreSQL re-checks the
    condition after a concurrent update of the row commits; SQLite has one writer), so of two
    runs at once, in any processes, exactly one gets the claim. Returns the claim's token."""
    now = timezone.now()
    token = secrets.token_hex(16)
    claimed = (
        Publication.objects.filter(pk=publication_id)
        .filter(Q(sync_lease="") | Q(sync_lease_until__lt=now))
        .update(sync_lease=token, sync_lease_until=now + SYNC_LEASE)
    )
    return token if claimed else None


def _release(publication_id: int, token: str) -> None:
    Publication.objects.filter(pk=publication_id, sync_lease=token).update(
        sync_lease="", sync_lease_until=None
    )


def publication_sync(publication_id: int) -> str:
    """The worker's run for one publication; returns the log outcome — or ``"busy"`` (nothing
    done) while another run of the same publication is under way: that run queues a new one
    when the publication was asked to sync again meanwhile."""
    token = _claim(publication_id)
    if token is None:
        return BUSY if Publication.objects.filter(pk=publication_id).exists() else "gone"
    try:
        return _sync(publication_id, token)
    except BaseException:
        _release(publication_id, token)
        raise


def _sync(publication_id: int, token: str) -> str:
    publication = (
        Publication.objects.select_related("dataset", "dataset__provider")
        .filter(pk=publication_id)
        .first()
    )
    if publication is None:
        return "gone"
    generation = publication.generation
    config = _config_of(publication)
    run: _Run | None = None
    error: CkanError | None = None
    outcome: str = Outcome.FAILED
    message = ""
    withdrawn = False
    try:
        if config is None or not config.token_encrypted:
            raise CkanError(kind="config", message="the portal settings are missing")
        run = _Run(publication, config)
        iri = dataset_iri(publication.dataset)
        # the package mirrors the open data catalogue: withdrawn there (or the dataset retired)
        # means marked deleted here, even while the publication is wanted
        listed = dataset_in_open_catalog(publication.dataset)
        if publication.wanted and listed:
            if not dataset_publishable(publication.dataset):
                raise CkanError(kind="config", message="the dataset is not publishable")
            outcome = run.publish(dataset_graph(publication.dataset), iri)
        else:
            withdrawn = True
            outcome = run.withdraw(iri)
            if publication.wanted:
                message = "withdrawn from the open data catalogue (or retired): package deleted"
    except crypto.DecryptionFailed:
        error = CkanError(kind="config", message="the stored API token cannot be decrypted")
    except CkanError as exc:
        error = exc
    if error is not None:
        message = str(error)
        outcome = {
            "validation": Outcome.REJECTED,
            "transient": Outcome.RETRY,
        }.get(error.kind, Outcome.FAILED)
    return _record(
        publication.pk, generation, run, outcome, error, message, withdrawn=withdrawn, lease=token
    )


def _record(
    pk: int,
    generation: int,
    run: _Run | None,
    outcome: str,
    error: CkanError | None,
    message: str,
    *,
    withdrawn: bool = False,
    lease: str = "",
) -> str:
    now = timezone.now()
    retry_at = None
    with transaction.atomic():
        publication = Publication.objects.select_for_update().select_related("dataset").get(pk=pk)
        dataset = publication.dataset
        if run is not None:
            publication.package_id = run.package_id
            publication.resource_ids = run.resource_ids
        if outcome == Outcome.RETRY:
            publication.failures += 1
            if publication.failures >= MAX_FAILURES:
                outcome = Outcome.FAILED
                message = f"{message} (gave up after {publication.failures} attempts)"
            else:
                retry_at = now + timedelta(seconds=backoff_seconds(publication.failures))
                publication.next_attempt_at = retry_at
                publication.status = Status.RETRYING
        else:
            publication.failures = 0
            publication.next_attempt_at = None
        if outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED, Outcome.DELETED):
            publication.field_errors = {}
            publication.last_error = ""
            publication.last_synced_at = now
            if publication.generation == generation:  # else a newer request waits in the queue
                publication.status = Status.UNPUBLISHED if withdrawn else Status.PUBLISHED
        elif outcome != Outcome.RETRY:
            publication.status = Status.FAILED
            publication.field_errors = error.fields if error is not None else {}
            publication.last_error = message[:2000]
        else:
            publication.last_error = message[:2000]
        if lease and publication.sync_lease == lease:
            publication.sync_lease, publication.sync_lease_until = "", None
        publication.save()
        if publication.generation != generation and outcome != Outcome.RETRY:
            # asked to sync again while this run worked (that request's run may have found
            # this one busy): one more run sends the newest description
            transaction.on_commit(lambda: _enqueue(pk))
        SyncLogEntry.objects.create(
            publication=publication,
            at=now,
            outcome=outcome,
            requests=run.client.requests if run is not None else 0,
            changes=run.changes if run is not None else [],
            message=message[:2000],
        )
        actions: dict[str, str] = {
            Outcome.CREATED: "ckan.package.created",
            Outcome.UPDATED: "ckan.package.updated",
            Outcome.DELETED: "ckan.package.deleted",
            Outcome.REJECTED: "ckan.package.rejected",
            Outcome.FAILED: "ckan.package.sync_failed",
        }
        action = actions.get(outcome)
        if action is not None:
            admin_entry_create(
                action=action,
                actor=SYSTEM,
                target=dataset,
                institution_id=dataset.provider_id,
                changes={
                    "package": publication.package_name,
                    "package_id": publication.package_id,
                    "changes": run.changes if run is not None else [],
                    "error": message[:500],
                },
            )
        if retry_at is not None:
            transaction.on_commit(lambda: _enqueue(pk, run_after=retry_at))
    return outcome
