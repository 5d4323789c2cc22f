from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.backends import ModelBackend

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser
    from django.db.models import Model


class ActiveUserBackend(ModelBackend):
    """E-mail + password; pending and blocked users cannot log in (``User.is_active``)."""

    def get_user_permissions(
        self, user_obj: AbstractBaseUser | AnonymousUser, obj: Model | None = None
    ) -> set[str]:
        return set()  # portal roles are decided in dagr.permissions, not Django permissions

    get_group_permissions = get_user_permissions
