"""Every code example of the shipped knowledge base articles runs against the real server, so the
documentation cannot rot: the ``bash``/``sh`` blocks of one article in one language run in order
as one script (as a reader following the article would, ``bash -e`` in an empty directory), each
``python`` block on its own with the interpreter of the tests (the examples use the standard
library only). Both exit 0 and print what the article says they print (``EXPECTED``).

The environment is what the articles name: ``DAGR_URL``, the recipient system's ``CLIENT_ID`` /
``CLIENT_SECRET``, ``DATASET`` / ``PERMISSION_NUMBER`` (its approved grant) / ``PERSONAL_CODE``
(a record in it), the provider system's ``PROVIDER_CLIENT_ID`` / ``PROVIDER_CLIENT_SECRET`` /
``PROVIDER_DATASET``, an oversight system's ``OVERSIGHT_CLIENT_ID`` / ``OVERSIGHT_CLIENT_SECRET``,
the public ``TEST_DATASET`` and a ``WEBHOOK_URL``. The articles are read from their files
(``tests/help_content/articles.py``), not through the knowledge app."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import data
from tests.help_content.articles import Article, all_articles

pytestmark = pytest.mark.e2e

PERSONAL_CODE = data.persons(1, serial=data.HELP_SERIAL)[0]["personal_code"]
TIMEOUT_S = 180

# slug -> regular expressions the output must contain: "*" in both languages, or per language
EXPECTED: dict[str, dict[str, list[str]]] = {
    "api-errors": {
        "*": [r'"code":\s*"permission_number_required"', r'"code":\s*"invalid_identifier"']
    },
    "call-api-curl": {
        "*": [
            r'"permission_number":\s*"E2E-HELP-1"',
            rf'"personal_code":\s*"{PERSONAL_CODE}"',
            r'"invalid":\s*\["01019012340"\]',
            r'"not_found":\s*\["32000000024"\]',
            r'"next_cursor":\s*"',
        ]
    },
    "call-api-python": {
        "*": [rf"(?m)^{PERSONAL_CODE} \S", r"403 grant_missing: "],
        "lv": [rf"izmaiņas: {data.HELP_PERSONS}\b"],
        "en": [rf"changes: {data.HELP_PERSONS}\b"],
    },
    "change-feed": {
        "*": [r"(?m)^200$"],
        "lv": [r"3 izmaiņas, vēl ir: True"],
        "en": [r"3 changes, more: True"],
    },
    "dataset-audit": {"*": [r'"dataset":\s*"e2e-help"', r'"records_returned":\s*[1-9]']},
    "dataset-identifiers": {"*": [r"True False\nTrue False"]},
    "get-token": {"*": [r'"token_type":\s*"Bearer"', r'"kind":\s*"recipient"']},
    "provider-api": {
        "*": [r'"status":\s*"succeeded"', r'"received":\s*2', r'"code":\s*"invalid_records"']
    },
    "record-sets": {"*": [r'"added":\s*1', rf'"key":\s*"{PERSONAL_CODE}"']},
    "register-connection": {"*": [r"subject=\s*CN\s*=\s*\S+\.example\.lv", r"notAfter="]},
    "statistics": {"lv": [r"pieprasījumi: \d+ p95: "], "en": [r"requests: \d+ p95: "]},
    "sync-connector": {
        "lv": [rf"{data.HELP_PERSONS} ieraksti"],
        "en": [rf"{data.HELP_PERSONS} records"],
    },
    "test-datasets": {"*": [rf'"code":\s*"{data.TEST_DATA}"', r'"next_cursor"', r"personal_code"]},
    "webhooks": {"*": [r'"secret":\s*"whsec_', r'"status":\s*"paused"', r"True\nFalse"]},
    "who-read-my-data": {"*": [r"\('E2E datu saņēmējs', 'e2e-help', [1-9]\d*\)"]},
}

ARTICLES = all_articles()
CASES = [
    pytest.param(article, language, id=f"{article.slug}-{language}")
    for article in ARTICLES
    for language in ("lv", "en")
    if any(block.runner and block.language == language for block in article.blocks)
]


def test_every_article_with_examples_has_expectations():
    with_examples = {article.slug for article, _language in (c.values for c in CASES)}
    assert with_examples == set(EXPECTED)


@pytest.fixture(scope="module")
def example_env(dagr_server: Any) -> dict[str, str]:
    # the audit examples ask about PERSONAL_CODE: make sure it was read at least once
    answer = dagr_server.request(
        "GET",
        f"/api/v1/data/{data.HELP}/records/personal_code/{PERSONAL_CODE}",
        token="recipient",
        headers={"X-Permission-Number": data.GRANTS[data.HELP]},
    )
    assert answer.status == 200, answer.body
    credentials = dagr_server.credentials
    return {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(Path.home()),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "DAGR_URL": dagr_server.base_url,
        "CLIENT_ID": credentials["recipient"]["client_id"],
        "CLIENT_SECRET": credentials["recipient"]["secret"],
        "DATASET": data.HELP,
        "PERMISSION_NUMBER": data.GRANTS[data.HELP],
        "PERSONAL_CODE": PERSONAL_CODE,
        "PROVIDER_CLIENT_ID": credentials["provider"]["client_id"],
        "PROVIDER_CLIENT_SECRET": credentials["provider"]["secret"],
        "PROVIDER_DATASET": data.HELP_LOAD,
        "OVERSIGHT_CLIENT_ID": credentials["oversight"]["client_id"],
        "OVERSIGHT_CLIENT_SECRET": credentials["oversight"]["secret"],
        "TEST_DATASET": data.TEST_DATA,
        # the server runs with DAGR_WEBHOOK_ALLOW_PRIVATE: a local address is accepted
        "WEBHOOK_URL": "https://127.0.0.1:9/dagr-hook",
    }


def _run(args: list[str], env: dict[str, str], cwd: Path, what: str) -> str:
    done = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert done.returncode == 0, (
        f"{what} exited with {done.returncode}\n--- stdout\n{done.stdout[-3000:]}"
        f"\n--- stderr\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.mark.parametrize(("article", "language"), CASES)
def test_the_examples_run(
    article: Article, language: str, example_env: dict[str, str], tmp_path: Path
) -> None:
    blocks = [b for b in article.blocks if b.runner and b.language == language]
    output = []
    script = "\n".join(b.code for b in blocks if b.runner == "bash")
    if script:
        output.append(_run(["bash", "-e", "-c", script], example_env, tmp_path, "the bash blocks"))
    for n, block in enumerate(b for b in blocks if b.runner == "python"):
        output.append(
            _run([sys.executable, "-c", block.code], example_env, tmp_path, f"python block {n}")
        )
    printed = "\n".join(output)
    expected = EXPECTED[article.slug]
    for pattern in [*expected.get("*", []), *expected.get(language, [])]:
        assert re.search(pattern, printed), f"{pattern!r} not in the output:\n{printed[-4000:]}"
