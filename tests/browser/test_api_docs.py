"""Swagger UI (``/api/v1/docs``) in a real headless Chromium: it renders every operation of the
OpenAPI document without a console error or page error (it showed "Parser error: duplicated
mapping key" when the export operation declared 200 twice)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_operations_without_errors(page, client):
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto("/api/v1/docs")
    page.locator(".opblock").first.wait_for(timeout=15000)
    page.wait_for_load_state("networkidle")
    operations = client.get("/api/v1/openapi.json").json()["paths"]
    expected = sum(len(ops) for ops in operations.values())
    assert page.locator(".opblock").count() == expected
    assert page.locator(".errors-wrapper").count() == 0, page.locator(
        ".errors-wrapper"
    ).inner_text()
    assert problems == []
