"""The registry of administrative audit action names: dotted name → what people read (lv/en).

Every ``admin_entry_create(action=…)`` in the code has its label here;
tests/audit/test_actions.py fails on a name written anywhere in dagr/ that is missing. Pages show
``action_label(name)``; the dotted name stays what filters, the API and notifications key on."""

from __future__ import annotations

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTION_LABELS: dict[str, Promise] = {
    "accounts.access_review.closed_overdue": _("access review closed after its due date"),
    "accounts.access_review.completed": _("access review completed"),
    "accounts.access_review.requested": _("access review requested"),
    "accounts.application.approved": _("application approved"),
    "accounts.application.rejected": _("application rejected"),
    "accounts.application.submitted": _("application submitted"),
    "accounts.institution.created": _("institution created"),
    "accounts.institution.updated": _("institution changed"),
    "accounts.invitation.accepted": _("invitation accepted"),
    "accounts.invitation.created": _("invitation sent"),
    "accounts.invitation.resent": _("invitation sent again"),
    "accounts.invitation.revoked": _("invitation revoked"),
    "accounts.membership.confirmed": _("role confirmed in an access review"),
    "accounts.membership.granted": _("role granted"),
    "accounts.membership.restored": _("suspended role restored"),
    "accounts.membership.revoked": _("role withdrawn"),
    "accounts.membership.suspended": _("role suspended (not confirmed in an access review)"),
    "accounts.two_factor.disabled": _("two-factor authentication turned off"),
    "accounts.two_factor.enabled": _("two-factor authentication turned on"),
    "accounts.two_factor.recovery_code_used": _("recovery code used to log in"),
    "accounts.two_factor.recovery_codes_renewed": _("recovery codes renewed"),
    "accounts.two_factor.reset": _("two-factor authentication reset"),
    "accounts.user.activated": _("user activated"),
    "accounts.user.blocked": _("user blocked"),
    "accounts.user.created": _("user created"),
    "accounts.user.deactivated_inactive": _("user deactivated for inactivity"),
    "accounts.user.inactivity_notice": _("inactivity notice sent"),
    "accounts.user.password_changed": _("password changed"),
    "accounts.user.password_reset": _("password reset completed"),
    "accounts.user.pending": _("user awaiting activation"),
    "accounts.user.personal_code_set": _("personal code for the national login set"),
    "accounts.user.unblocked": _("user unblocked"),
    "accounts.user.updated": _("user data changed"),
    "anonymisation.release.published": _("test data release published"),
    "anonymisation.release.refused": _("test data release refused by the privacy check"),
    "anonymisation.release.requested": _("test data release requested"),
    "anonymisation.settings.changed": _("test data settings changed"),
    "audit.subject.searched": _("“who read” search"),
    "catalog.dataset.created": _("dataset created"),
    "catalog.dataset.schema_changed": _("dataset schema changed"),
    "catalog.dataset.status_changed": _("dataset status changed"),
    "catalog.dataset.updated": _("dataset description changed"),
    "ckan.config.created": _("open data portal settings created"),
    "ckan.config.updated": _("open data portal settings changed"),
    "ckan.package.created": _("dataset created in the open data portal"),
    "ckan.package.deleted": _("dataset marked deleted in the open data portal"),
    "ckan.package.rejected": _("open data portal rejected the dataset's description"),
    "ckan.package.sync_failed": _("sending to the open data portal failed"),
    "ckan.package.updated": _("dataset updated in the open data portal"),
    "ckan.publication.requested": _("publishing to the open data portal requested"),
    "ckan.publication.withdrawn": _("withdrawal from the open data portal requested"),
    "connectors.connector.changed": _("connector changed"),
    "connectors.connector.created": _("connector created"),
    "connectors.connector.deleted": _("connector deleted"),
    "connectors.run.failed": _("connector run failed"),
    "connectors.schema_change.proposed": _("schema change proposed by a connector"),
    "connectors.schema_change.accepted": _("schema change proposed by a connector accepted"),
    "connections.connection.certificate_changed": _("connection certificate replaced"),
    "connections.connection.created": _("connection registered"),
    "connections.connection.revoked": _("connection revoked"),
    "connections.connection.secret_rotated": _("connection secret renewed"),
    "grants.grant.approved": _("access grant approved"),
    "grants.grant.rejected": _("access request rejected"),
    "grants.grant.requested": _("access requested"),
    "grants.grant.revoked": _("access grant revoked"),
    "knowledge.article.created": _("help article created"),
    "knowledge.article.reverted": _("help article reverted to an earlier version"),
    "knowledge.article.updated": _("help article changed"),
    "knowledge.articles.loaded": _("shipped help articles loaded"),
    "knowledge.image.uploaded": _("image for help articles uploaded"),
    "monitoring.record_set.created": _("record set created"),
    "monitoring.record_set.deleted": _("record set deleted"),
    "monitoring.record_set.identifiers_changed": _("record set values changed"),
    "monitoring.record_set.updated": _("record set changed"),
    "monitoring.subscription.created": _("webhook created"),
    "monitoring.subscription.deleted": _("webhook deleted"),
    "monitoring.subscription.paused": _("webhook paused"),
    "monitoring.subscription.resumed": _("webhook resumed"),
    "monitoring.subscription.secret_rotated": _("webhook secret renewed"),
    "monitoring.subscription.suspended": _("webhook suspended after failures"),
    "monitoring.subscription.url_changed": _("webhook address changed"),
    "notifications.dataset.stale": _("dataset not refreshed for 24 hours"),
    "notifications.grant.expiring": _("access grant expiring"),
    "notifications.grant.quota_high": _("access grant daily quota 80 percent used"),
    "notifications.newsletter.created": _("newsletter written"),
    "notifications.newsletter.sent": _("newsletter sent"),
    "notifications.newsletter.updated": _("newsletter changed"),
    "notifications.template.saved": _("notification template saved"),
    "opendata.metadata.published": _("dataset published as open data"),
    "opendata.metadata.unpublished": _("dataset withdrawn from open data"),
    "opendata.metadata.updated": _("open data metadata changed"),
    "opendata.template.applied": _("metadata template applied to a dataset"),
    "opendata.template.created": _("metadata template created"),
    "opendata.template.deleted": _("metadata template deleted"),
    "opendata.template.updated": _("metadata template changed"),
    "records.load.failed": _("data load failed"),
    "records.load.succeeded": _("data loaded"),
    "uploads.dataset.exported": _("dataset exported"),
    "uploads.file.cancelled": _("file upload cancelled"),
    "uploads.file.confirmed": _("uploaded file confirmed"),
    "uploads.file.deleted": _("uploaded file deleted"),
    "uploads.file.uploaded": _("file uploaded"),
}

# The first part of a dotted name: what a "<prefix>.*" filter choice reads as.
PREFIX_LABELS: dict[str, Promise] = {
    "accounts.application": _("applications"),
    "accounts.access_review": _("access reviews"),
    "accounts.institution": _("institutions"),
    "accounts.invitation": _("invitations"),
    "accounts.two_factor": _("two-factor authentication"),
    "accounts.membership": _("roles"),
    "accounts.user": _("users"),
    "anonymisation.release": _("test data releases"),
    "anonymisation.settings": _("test data settings"),
    "audit.subject": _("“who read” searches"),
    "catalog.dataset": _("datasets"),
    "ckan.config": _("open data portal settings"),
    "ckan.package": _("datasets in the open data portal"),
    "ckan.publication": _("open data portal publishing requests"),
    "connections.connection": _("technical connections"),
    "connectors.connector": _("connectors"),
    "connectors.run": _("connector runs"),
    "connectors.schema_change": _("connector schema change proposals"),
    "grants.grant": _("access grants"),
    "knowledge.article": _("help articles"),
    "knowledge.articles": _("shipped help articles"),
    "knowledge.image": _("images for help articles"),
    "monitoring.record_set": _("record sets"),
    "monitoring.subscription": _("webhooks"),
    "notifications.dataset": _("dataset freshness notices"),
    "notifications.grant": _("access grant notices"),
    "notifications.newsletter": _("newsletters"),
    "notifications.template": _("notification templates"),
    "opendata.metadata": _("open data metadata"),
    "opendata.template": _("metadata templates"),
    "records.load": _("data loads"),
    "uploads.dataset": _("dataset exports"),
    "uploads.file": _("uploaded files"),
}


def action_label(action: str) -> str:
    """What people read for a dotted action name (the name itself when it has no label)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def action_prefix_label(prefix: str) -> str:
    label = PREFIX_LABELS.get(prefix)
    return f"{label} (*)" if label is not None else f"{prefix}.*"


def target_type_label(target_type: str) -> str:
    """``connections.connection`` → the model's name ("technical connection"), by the app
    registry (the audit imports no app)."""
    try:
        model = apps.get_model(target_type)
    except (LookupError, ValueError):
        return target_type
    return str(model._meta.verbose_name)
