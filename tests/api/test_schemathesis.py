"""Schemathesis: generated requests against every API operation — no 5xx, every response
conforms to the OpenAPI document (status codes, content types, bodies), valid-per-schema requests
are accepted and invalid ones (negative mode: wrong types, missing required headers, values
outside the declared patterns and limits) rejected with a 4xx (``negative_data_rejection``)."""

import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

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


# derandomize: the same generated cases on every run, so CI is reproducible; widen max_examples
# locally (or drop derandomize) when hunting for new mismatches.
@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    excluded = [positive_data_acceptance] if case.path in OAUTH_OPERATIONS else []
    case.call_and_validate(excluded_checks=excluded)


# With credentials: the same operations as a recipient system (data, record sets) or a provider
# system (provider API, audit) of one small world, so that generated requests get past
# authentication. In positive mode the references a client takes from elsewhere — the dataset
# code, an identifier field, the permission number — are the world's real ones (any string is
# valid per schema, but only these name something); negative cases keep what was generated.
# The provider's record bodies are checked against the dataset's own schema (the catalogue), not
# the OpenAPI document: a generated object is not a valid record of it.
PROVIDER_PREFIXES = ("/api/v1/provider", "/api/v1/audit")
DATASET_RECORDS = {"/api/v1/provider/datasets/{code}/records"}


@pytest.fixture
def world():
    from tests.retrieval.factories import make_world

    return make_world()


def _as_a_client_would(case, world) -> None:
    role = "provider" if case.path.startswith(PROVIDER_PREFIXES) else "recipient"
    case.headers = case.headers or {}
    if "Authorization" in case.headers:  # absent: a case about the missing header
        case.headers["Authorization"] = f"Bearer {world.tokens[role]}"
    if not case.meta.generation.mode.is_positive:
        return
    params = case.path_parameters or {}
    if "code" in params:
        params["code"] = world.dataset.code
    if "field" in params:
        params["field"] = "registration_number"
    if "X-Permission-Number" in case.headers:
        case.headers["X-Permission-Number"] = "ATL-1"
    if "X-Purpose" in case.headers:
        # Percent-encoded UTF-8 (``dagr.core.purpose``) has no JSON-schema pattern without
        # look-arounds; the document declares the limits it can (length, no control characters)
        # and tests/retrieval/test_purpose.py the rest.
        case.headers["X-Purpose"] = "Nodok%C4%BCu%20administr%C4%93%C5%A1ana"
    if "Idempotency-Key" in case.headers:  # a new request, a new key (a reused one is 422)
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if case.query and "cursor" in case.query:  # a cursor is one the API gave, not any text
        del case.query["cursor"]
    if isinstance(case.body, dict) and "cursor" in case.body:  # the same in a POST body
        del case.body["cursor"]
    if isinstance(case.body, dict) and "field" in case.body:
        case.body["field"] = "registration_number"


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_with_credentials_conforms_to_its_schema(case, world):
    _as_a_client_would(case, world)
    excluded = [ignored_auth]  # the credentials are ours: the run above checks refusals
    if case.path in OAUTH_OPERATIONS | DATASET_RECORDS:
        excluded.append(positive_data_acceptance)
    case.call_and_validate(excluded_checks=excluded)
