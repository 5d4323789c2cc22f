from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

# Django's own Latvian catalogue has the plural forms of this text in the wrong order ("138 baits",
# "1 baitu"); this app's catalogue, searched before Django's, holds the correct ones. Listed here
# so that makemessages keeps the entry; filesizeformat uses it.
FILESIZE_BYTES = ngettext_lazy("%(size)d byte", "%(size)d bytes", "size")


class CoreConfig(AppConfig):
    name = "dagr.core"
    label = "core"
    verbose_name = "DAGR core"

    def ready(self) -> None:
        # Django's own empty choice of a select ("- Select an option -", new in Django 6.1) has no
        # Latvian translation in Django: every empty choice reads as ours, translated here.
        from django.db.models import fields

        fields.BLANK_CHOICE_LABEL = _("— choose —")
