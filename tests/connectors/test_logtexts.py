"""Connector log lines are shown in the reader's language: the engine (no Django) gives each
line a code and parameters, the portal renders them from its catalogue, Latvian first."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from dagr.accounts.models import Membership
from dagr.connectors import services
from dagr.connectors.logtexts import LOG_TEXTS, log_text
from dagr.connectors.models import RunLogLine
from dagr.core.actors import SYSTEM
from dagr_agent.connector.engine import LOG_CODES
from tests.factories import make_dataset, make_institution, make_user

from .memory import people
from .test_services import SCHEMA, config

pytestmark = pytest.mark.django_db


def test_the_portal_has_a_text_for_every_engine_code_with_its_parameters():
    assert set(LOG_TEXTS) == set(LOG_CODES)
    for code, names in LOG_CODES.items():
        params = {name: f"<{name}>" for name in names}
        for language in ("lv", "en"):
            with translation.override(language):
                text = log_text(code, params, "fallback")
            assert text != "fallback", (code, language)
            assert all(f"<{name}>" in text for name in names), (code, language)


def test_unknown_codes_and_unfitting_parameters_show_the_message():
    assert log_text("no.such.code", {}, "English text") == "English text"
    assert log_text("summary", {"rows": 1}, "English text") == "English text"
    assert log_text("", None, "English text") == "English text"


def test_a_hosted_run_log_reads_in_latvian_and_in_english(client: Any) -> None:
    provider = make_institution()
    dataset = make_dataset(schema=SCHEMA, provider=provider)
    rows = people(5)
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="žurnāls", config=config(options={"count": 5})
    )
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == "succeeded", run.error
    summary = RunLogLine.objects.get(run=run, code="summary")
    assert summary.params["rows"] == len(rows) and summary.message.startswith("Read 5 rows")
    rep = make_user(institution=provider, roles=(Membership.Role.PROVIDER,))
    client.force_login(rep)
    url = f"/connectors/{connector.pk}/runs/{run.pk}/"
    lv = client.get(url, HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "Nolasītas 5 rindas" in lv and "Pilns momentuzņēmums: lasa visas rindas" in lv
    assert "Read 5 rows" not in lv
    download = client.get(f"{url}log.csv", HTTP_ACCEPT_LANGUAGE="lv")
    csv = b"".join(download.streaming_content).decode()
    assert "Nolasītas 5 rindas" in csv  # the download too, in the reader's language
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Read 5 rows: 5 created" in en and "Full snapshot: reading every row" in en


def test_a_failed_runs_error_reads_in_the_readers_language(client: Any) -> None:
    provider = make_institution()
    dataset = make_dataset(schema=SCHEMA, provider=provider)
    rows = people(4)
    rows[1]["born"] = "nav datums"
    connector = services.connector_create(
        actor=SYSTEM, dataset=dataset, name="kļūda", config=config(options={"rows": rows})
    )
    run = services.run_hosted(actor=SYSTEM, connector=connector)
    assert run.status == "failed" and run.error_code == "invalid_records"
    assert run.error.startswith("1 rows are not valid")  # stored in English
    client.force_login(make_user(institution=provider, roles=(Membership.Role.PROVIDER,)))
    url = f"/connectors/{connector.pk}/runs/{run.pk}/"
    lv = client.get(url, HTTP_ACCEPT_LANGUAGE="lv").content.decode()
    assert "1 rindas nav derīgas; nekas no šīs daļas netika ielādēts" in lv
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 rows are not valid; nothing of this unit was loaded" in en
