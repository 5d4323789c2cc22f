from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "dagr.core"
    label = "core"
    verbose_name = "DAGR core"

    def ready(self) -> None:
        # Django's own empty choice of a select ("- Select an option -", new in Django 6.1) has no
        # Latvian translation in Django: every empty choice reads as ours, translated here.
        from django.db.models import fields

        fields.BLANK_CHOICE_LABEL = _("— choose —")
