"""The OpenAPI document is 3.1 and valid; Swagger UI is served from our own static files."""

import json
import re

import pytest
from openapi_spec_validator import validate


def test_openapi_is_3_1_and_documents_problem_responses(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert "Problem" in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)


def _no_repeated_keys(pairs):
    keys = [k for k, _v in pairs]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ValueError(f"repeated keys {repeated} in an object with keys {keys}")
    return dict(pairs)


def test_openapi_json_has_no_repeated_key(client):
    """JSON parsers keep the last of two equal keys; Swagger UI's YAML parser refuses the
    document ("duplicated mapping key" — the export operation declared 200 twice)."""
    text = client.get("/api/v1/openapi.json").content.decode()
    json.loads(text, object_pairs_hook=_no_repeated_keys)


def test_openapi_document_is_valid(client):
    validate(client.get("/api/v1/openapi.json").json())


def test_data_calls_require_the_permission_number(client):
    document = client.get("/api/v1/openapi.json").json()
    data_calls = [
        (path, op)
        for path, ops in document["paths"].items()
        for op in ops.values()
        if path.startswith("/api/v1/data/{code}/")
    ]
    assert len(data_calls) >= 5
    for path, operation in data_calls:
        header = [p for p in operation["parameters"] if p["name"] == "X-Permission-Number"]
        assert header and header[0]["required"] is True, path


def test_swagger_ui_uses_no_external_assets(client):
    html = client.get("/api/v1/docs").content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(u.startswith("/") for u in urls), urls


pytestmark = pytest.mark.django_db
