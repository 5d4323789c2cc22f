"""The shipped content's file format: the parser accepts the documented form, refuses
deviations with the file's name, and every shipped file parses."""

from __future__ import annotations

import pytest

from dagr.knowledge import content

GOOD = """---
slug: request-access-test
category: recipients
audiences: [recipient, signatory]      # a comment
visibility: public
order: 10
pages: [grants:request]
topics: [access, grants]
related: []
title_lv: Piekļuves atļaujas pieprasīšana
title_en: Requesting an access grant
---
<!-- lang: lv -->
Latviešu **teksts**.
<!-- lang: en -->
English **text**.
"""


def test_parses_the_documented_format():
    source = content.parse_article(GOOD)
    assert source.slug == "request-access-test"
    assert source.audiences == ["recipient", "signatory"]
    assert source.pages == ["grants:request"]
    assert source.body_lv == "Latviešu **teksts**.\n"
    assert source.body_en == "English **text**.\n"
    assert source.title_lv == "Piekļuves atļaujas pieprasīšana"
    assert len(source.digest) == 64


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("category: recipients", "category: nowhere"), "unknown category"),
        (("slug: request-access-test", "slug: Bad Slug"), "slug"),
        (("slug: request-access-test", "slug: search"), "slug"),
        (("audiences: [recipient, signatory]", "audiences: [robots]"), "unknown audience"),
        (("visibility: public", "visibility: secret"), "visibility"),
        (("pages: [grants:request]", "pages: [/grants/request/]"), "pages"),
        (("<!-- lang: en -->\n", ""), "lang"),
        (("title_en: Requesting an access grant\n", ""), "title_en"),
        (("order: 10", "order: first"), "order"),
    ],
)
def test_refuses_deviations(change, message):
    old, new = change
    with pytest.raises(content.ContentError, match=message):
        content.parse_article(GOOD.replace(old, new), where="x.md")


def test_front_matter_must_open_and_close():
    with pytest.raises(content.ContentError, match="must start"):
        content.parse_article("slug: x\n")
    with pytest.raises(content.ContentError, match="closing"):
        content.parse_article("---\nslug: x\n")


def test_every_shipped_file_parses_and_is_named_by_its_slug():
    articles = content.shipped_articles()
    slugs = {article.slug for article in articles}
    assert {"request-access", "register-connection", "define-dataset", "upload-file"} <= slugs
    for article in articles:
        assert article.title_lv != article.title_en  # each language its own text
        assert article.body_lv.strip() and article.body_en.strip()


def test_categories_in_order():
    slugs = [category.slug for category in content.categories()]
    assert slugs[:6] == [
        "getting-started", "recipients", "providers", "signatories", "administrators", "api",
    ]  # fmt: skip


def test_related_must_exist(tmp_path):
    (tmp_path / "a-one.md").write_text(
        GOOD.replace("request-access-test", "a-one").replace("related: []", "related: [missing]")
    )
    with pytest.raises(content.ContentError, match="missing"):
        content.shipped_articles(tmp_path)
    (tmp_path / "a-one.md").write_text(GOOD)
    with pytest.raises(content.ContentError, match="file name"):
        content.shipped_articles(tmp_path)
