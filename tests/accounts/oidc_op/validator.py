"""The provider's claims: ``sub`` plus what OP_PEOPLE gives the signed-in user (personal code,
e-mail, whether the e-mail is verified) — in the ID token and at the userinfo endpoint."""

from __future__ import annotations

import json
import os
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

PEOPLE: dict[str, dict[str, Any]] = json.loads(os.environ.get("OP_PEOPLE", "{}"))


class Validator(OAuth2Validator):
    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        return PEOPLE.get(request.user.username, {})
