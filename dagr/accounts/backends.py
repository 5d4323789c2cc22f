from __future__ import annotations

from django.contrib.auth.backends import ModelBackend


class ActiveUserBackend(ModelBackend):
    """E-mail + password; pending and blocked users cannot log in (``User.is_active``)."""

    def get_user_permissions(self, user_obj, obj=None):  # type: ignore[no-untyped-def]
        return set()  # portal roles are decided in dagr.permissions, not Django permissions

    get_group_permissions = get_user_permissions
