"""The public glossary and "how to get access" pages: without login, in both languages, every term
with its anchor and a help article that exists."""

from __future__ import annotations

import re

import pytest

from dagr.portal.glossary import TERMS, terms_sorted
from tests.factories import make_user
from tests.help_content.articles import all_articles

pytestmark = pytest.mark.django_db


def test_the_glossary_has_enough_distinct_terms_each_with_an_existing_article():
    slugs = {article.slug for article in all_articles()}
    assert len(TERMS) >= 25
    assert len({t.anchor for t in TERMS}) == len(TERMS)
    for term in TERMS:
        assert re.fullmatch(r"[a-z0-9-]+", term.anchor)
        assert term.article in slugs, term.anchor
        assert term.text_lv != term.text_en and term.term_lv and term.term_en


def test_latvian_alphabetical_order_puts_letters_with_diacritics_after_their_base_letter():
    order = [t.term("lv") for t in terms_sorted("lv")]
    assert order.index("ieraksts") < order.index("ierakstu kopa")
    # "č" sorts after every "c…", "š" after every "s…"
    assert all(not w.startswith("č") for w in order[: order.index("datu devējs")])
    assert order.index("smilškaste") < order.index("shēma") or order.index("shēma") < order.index(
        "smilškaste"
    )


@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_glossary_page_is_public_with_anchors(client, language):
    page = client.get("/glossary/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    html = page.content.decode()
    anchors = re.findall(r'<dt id="([a-z0-9-]+)">', html)
    assert sorted(anchors) == sorted(t.anchor for t in TERMS)
    for term in TERMS:
        assert f'href="#{term.anchor}"' in html
        assert f'href="/help/{term.article}/"' in html
    if language == "lv":
        assert "<h1>Terminu skaidrojumi</h1>" in html and "piekļuves atļauja" in html
    else:
        assert "<h1>Glossary</h1>" in html and "access grant" in html


@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_how_to_get_access_page_is_public_and_links_the_steps(client, language):
    page = client.get("/get-access/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    html = page.content.decode()
    for slug in (
        "test-datasets",
        "register-institution",
        "request-access",
        "legal-basis",
        "register-connection",
        "call-api-curl",
        "sync-connector",
    ):
        assert f'href="/help/{slug}/"' in html
    assert 'href="/accounts/register/"' in html  # signed out: apply for an account
    title = "Kā saņemt piekļuvi datiem" if language == "lv" else "How to get access to data"
    assert f"<h1>{title}</h1>" in html


def test_signed_in_the_get_access_page_does_not_offer_an_application(client):
    client.force_login(make_user())
    html = client.get("/get-access/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert (
        "Apply for an account</a>" not in html
        and "/accounts/register/" not in html.split("<main")[1]
    )


def test_every_page_links_the_glossary_and_the_get_access_page(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/glossary/"' in html and 'href="/get-access/"' in html
