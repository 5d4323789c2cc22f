"""Migrate the provider's database and register its users and the DAGR client:
``python -m tests.accounts.oidc_op.setup REDIRECT_URI CLIENT_ID CLIENT_SECRET`` (the users are
the OP_PEOPLE names, each with the password "op-password")."""

from __future__ import annotations

import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.accounts.oidc_op.settings")
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

redirect_uri, client_id, client_secret = sys.argv[1:4]
call_command("migrate", verbosity=0, interactive=False)
for name in json.loads(os.environ.get("OP_PEOPLE", "{}")):
    User.objects.create_user(username=name, password="op-password")
Application.objects.create(
    name="DAGR",
    client_id=client_id,
    client_secret=client_secret,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris=redirect_uri,
    algorithm=Application.RS256_ALGORITHM,
    skip_authorization=True,
)
