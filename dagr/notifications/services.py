"""Writes of notifications: inbox marks, e-mail preferences, unsubscribing, template versions
(save, restore, test send), newsletters (write, queue, expand to deliveries)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dagr.accounts.models import User
from dagr.audit.services import admin_entry_create
from dagr.core.actors import Actor
from dagr.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from dagr.permissions import rules

from . import rendering, selectors
from .composing import NEWSLETTER_KIND, Message, Source, compose, validate_source
from .dispatch import language_of
from .models import Delivery, Newsletter, Notification, Preference, Template
from .registry import BY_KEY, absolute_url

LANGUAGES = ("lv", "en")

# --- inbox and preferences ----------------------------------------------------------------------


def notification_mark_read(*, user: User, pk: int) -> None:
    updated = Notification.objects.filter(user=user, pk=pk, read_at=None).update(
        read_at=timezone.now()
    )
    if not updated and not Notification.objects.filter(user=user, pk=pk).exists():
        raise NotFound  # someone else's notification looks like a missing one


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at=None).update(read_at=timezone.now())


def preferences_set(*, user: User, email_on: set[str]) -> None:
    """E-mail on for the kinds in ``email_on``, off for the other ones that may be turned off."""
    for kind in BY_KEY.values():
        if kind.security:
            continue
        Preference.objects.update_or_create(
            user=user, kind=kind.key, defaults={"email": kind.key in email_on}
        )


def unsubscribe(*, user_id: int, kind: str) -> bool:
    """Turn off e-mail of ``kind`` (or newsletters) for the user of a signed link."""
    if kind != NEWSLETTER_KIND and (kind not in BY_KEY or BY_KEY[kind].security):
        return False
    if not User.objects.filter(pk=user_id).exists():
        return False
    Preference.objects.update_or_create(user_id=user_id, kind=kind, defaults={"email": False})
    return True


# --- templates ----------------------------------------------------------------------------------


def _check_kind(kind: str, language: str) -> None:
    if kind not in BY_KEY or language not in LANGUAGES:
        raise NotFound


def _invalid(exc: rendering.TemplateInvalid) -> ValidationError:
    return ValidationError(
        " ".join(exc.errors),
        code="template_invalid",
        errors=[{"field": "template", "message": message} for message in exc.errors],
    )


def template_save(
    *, actor: Actor, kind: str, language: str, source: Source, note: str = ""
) -> Template:
    if not rules.can_manage_notification_templates(actor):
        raise PermissionDenied
    _check_kind(kind, language)
    try:
        validate_source(kind, source)
        compose(kind, language, BY_KEY[kind].sample_context(), source=source)
    except rendering.TemplateInvalid as exc:
        raise _invalid(exc) from exc
    except Exception as exc:  # renders with the sample data, or is refused
        raise ValidationError(
            _("The template cannot be rendered: %(error)s") % {"error": exc},
            code="template_invalid",
        ) from exc
    with transaction.atomic():
        last = selectors.template_versions(kind, language).select_for_update().first()
        version = (last.version if last else 0) + 1
        template = Template.objects.create(
            kind=kind,
            language=language,
            version=version,
            subject=source.subject,
            html=source.html,
            text=source.text,
            note=note[:255],
            created_by_label=str(actor)[:255],
        )
        admin_entry_create(
            action="notifications.template.saved",
            actor=actor,
            target=template,
            target_label=f"{kind}/{language} v{version}",
            changes={
                "version": [last.version if last else None, version],
                **(
                    {
                        part: [getattr(last, part) if last else None, getattr(source, part)]
                        for part in ("subject", "html", "text")
                        if not last or getattr(last, part) != getattr(source, part)
                    }
                ),
            },
        )
    return template


def template_restore(*, actor: Actor, kind: str, language: str, version: int) -> Template:
    """A new version with the content of an older one (history is never rewritten)."""
    if not rules.can_manage_notification_templates(actor):
        raise PermissionDenied
    _check_kind(kind, language)
    old = selectors.template_version(kind, language, version)
    return template_save(
        actor=actor,
        kind=kind,
        language=language,
        source=Source(old.subject, old.html, old.text),
        note=_("restored from version %(version)s") % {"version": version},
    )


def _test_delivery(actor: User, kind: str, language: str, message: Message) -> Delivery:
    """Queue a "send me a test" message to the actor's own address (subject marked [TEST])."""
    return Delivery.objects.create(
        user=actor,
        to=actor.email,
        kind=kind,
        language=language,
        subject=f"[TEST] {message.subject}"[:255],
        html=message.html,
        text=message.text,
        headers=message.headers,
        next_attempt_at=timezone.now(),
    )


def template_send_test(*, actor: User, kind: str, language: str, source: Source) -> Delivery:
    """Queue the (unsaved) template, rendered with sample data, to the actor's own address."""
    if not rules.can_manage_notification_templates(actor):
        raise PermissionDenied
    _check_kind(kind, language)
    try:
        validate_source(kind, source)
    except rendering.TemplateInvalid as exc:
        raise _invalid(exc) from exc
    context = {**BY_KEY[kind].sample_context(), "recipient_name": actor.full_name or actor.email}
    return _test_delivery(actor, kind, language, compose(kind, language, context, source=source))


# --- newsletters --------------------------------------------------------------------------------

NEWSLETTER_FIELDS = (
    "subject_lv",
    "html_lv",
    "text_lv",
    "subject_en",
    "html_en",
    "text_en",
    "group",
    "group_value",
    "mandatory",
)


def _newsletter_check(data: dict[str, Any]) -> None:
    errors: list[str] = []
    for language in LANGUAGES:
        source = Source(
            data[f"subject_{language}"], data[f"html_{language}"], data[f"text_{language}"]
        )
        try:
            validate_source(NEWSLETTER_KIND, source)
        except rendering.TemplateInvalid as exc:
            errors.extend(f"{language}: {message}" for message in exc.errors)
    if data["group"] not in Newsletter.Group.values:
        errors.append(_("Choose the recipients."))
    if errors:
        raise _invalid(rendering.TemplateInvalid(errors))


def newsletter_save(
    *, actor: Actor, data: dict[str, Any], newsletter: Newsletter | None = None
) -> Newsletter:
    if not rules.can_manage_newsletters(actor):
        raise PermissionDenied
    _newsletter_check(data)
    with transaction.atomic():
        if newsletter is None:
            newsletter = Newsletter(created_by_label=str(actor)[:255])
            before: dict[str, Any] = {}
        else:
            newsletter = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
            if newsletter.status != Newsletter.Status.DRAFT:
                raise Conflict(_("A sent newsletter cannot be changed."), code="already_sent")
            before = {name: getattr(newsletter, name) for name in NEWSLETTER_FIELDS}
        for name in NEWSLETTER_FIELDS:
            setattr(newsletter, name, data[name])
        newsletter.save()
        action = (
            "notifications.newsletter.updated" if before else "notifications.newsletter.created"
        )
        admin_entry_create(
            action=action,
            actor=actor,
            target=newsletter,
            target_label=newsletter.subject_lv,
            changes={
                name: [before.get(name), data[name]]
                for name in NEWSLETTER_FIELDS
                if before.get(name) != data[name]
            },
        )
    return newsletter


def newsletter_queue(*, actor: Actor, newsletter: Newsletter) -> Newsletter:
    """Mark for sending; the worker expands it to deliveries (``newsletters_expand``)."""
    if not rules.can_manage_newsletters(actor):
        raise PermissionDenied
    with transaction.atomic():
        newsletter = Newsletter.objects.select_for_update().get(pk=newsletter.pk)
        if newsletter.status != Newsletter.Status.DRAFT:
            raise Conflict(_("This newsletter has already been sent."), code="already_sent")
        count = selectors.newsletter_recipients(newsletter.group, newsletter.group_value).count()
        newsletter.status = Newsletter.Status.QUEUED
        newsletter.queued_at = timezone.now()
        newsletter.save(update_fields=["status", "queued_at"])
        admin_entry_create(
            action="notifications.newsletter.sent",
            actor=actor,
            target=newsletter,
            target_label=newsletter.subject_lv,
            changes={"status": ["draft", "queued"], "recipients": count},
        )
    return newsletter


def newsletter_send_test(*, actor: User, data: dict[str, Any]) -> Delivery:
    """Queue the (unsaved) newsletter to the actor's own address, in the actor's language."""
    if not rules.can_manage_newsletters(actor):
        raise PermissionDenied
    _newsletter_check(data)
    draft = Newsletter(**{name: data[name] for name in NEWSLETTER_FIELDS})
    language, message = newsletter_render(draft, actor)
    return _test_delivery(actor, NEWSLETTER_KIND, language, message)


def newsletter_render(newsletter: Newsletter, user: User) -> tuple[str, Any]:
    language = language_of(user)
    source = Source(
        getattr(newsletter, f"subject_{language}"),
        getattr(newsletter, f"html_{language}"),
        getattr(newsletter, f"text_{language}"),
    )
    context = {"recipient_name": user.full_name or user.email, "site_url": absolute_url("/")}
    message = compose(
        NEWSLETTER_KIND,
        language,
        context,
        source=source,
        user_id=user.pk,
        optional=not newsletter.mandatory,
    )
    return language, message


def newsletters_expand(*, chunk: int = 500) -> int:
    """Turn queued newsletters into one queued delivery per recipient (skipping those who
    unsubscribed, unless mandatory), ``chunk`` at a time so no transaction holds the database
    long; sending starts with the first chunk. The newsletter stays ``queued`` until every
    recipient has a delivery, then is ``sending`` (and ``sent`` when none is left queued).
    Returns the deliveries made."""
    made = 0
    for newsletter_id in Newsletter.objects.filter(status=Newsletter.Status.QUEUED).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            newsletter = Newsletter.objects.select_for_update().get(pk=newsletter_id)
            if newsletter.status != Newsletter.Status.QUEUED:
                continue
            recipients = selectors.newsletter_recipients(newsletter.group, newsletter.group_value)
            if not newsletter.mandatory:
                recipients = recipients.exclude(
                    notification_prefs__kind=NEWSLETTER_KIND, notification_prefs__email=False
                )
            todo = list(
                recipients.exclude(
                    pk__in=Delivery.objects.filter(newsletter=newsletter).values("user_id")
                )[:chunk]
            )
            now = timezone.now()
            rows = []
            for user in todo:
                language, message = newsletter_render(newsletter, user)
                rows.append(
                    Delivery(
                        user=user,
                        to=user.email,
                        kind=NEWSLETTER_KIND,
                        language=language,
                        newsletter=newsletter,
                        subject=message.subject,
                        html=message.html,
                        text=message.text,
                        headers=message.headers,
                        next_attempt_at=now,
                    )
                )
            Delivery.objects.bulk_create(rows, batch_size=500)
            made += len(rows)
            if len(rows) < chunk:  # every recipient has a delivery now
                newsletter.status = Newsletter.Status.SENDING
                newsletter.save(update_fields=["status"])
        if len(rows) < chunk:
            from .delivery import newsletter_finish_if_done

            newsletter_finish_if_done(newsletter_id)
    return made
