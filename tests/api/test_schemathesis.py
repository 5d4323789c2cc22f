"""Schemathesis: generated requests against every API operation — no 5xx, every response
conforms to the OpenAPI document (status codes, content types, bodies), valid-per-schema requests
are accepted and invalid ones (negative mode: wrong types, missing required headers, values
outside the declared patterns and limits) rejected with a 4xx (``negative_data_rejection``)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# The API refuses a NUL character in any URL, header or body with 400 ``nul_character`` by design
# (PostgreSQL cannot store it; README "API conventions"; tests/api/test_nul_in_request.py). A
# generated string holding one is therefore not valid data for this API, whatever its schema type
# says: without this, the positive-data check fails at random when Hypothesis draws a NUL.
schema.config.generation.update(
    allow_x00=False, modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
)

# The OAuth token endpoint answers 400 to a well-formed request with an unsupported grant type,
# as RFC 6749 §5.2 requires; that is not a schema violation.
OAUTH_OPERATIONS = {"/api/v1/oauth/token"}


@pytest.fixture(autouse=True)
def keep_test_connection_open():
    """The WSGI handler closes old database connections after each request; inside a test that
    would close the test's own transaction (Django's test client disconnects the same signals)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    excluded = [positive_data_acceptance] if case.path in OAUTH_OPERATIONS else []
    case.call_and_validate(excluded_checks=excluded)
