"""The search index: one table per language holding each article's title and body TERMS
(``terms.py`` makes them; the databases do no linguistics of their own).

- SQLite: an FTS5 table ``knowledge_search_<lang>(title, body)``, rowid = article id, the
  ``unicode61`` tokenizer with ``remove_diacritics 0`` (our terms are already folded);
  a query is ``"t1"* AND "t2"*`` (prefix match on every query term).
- PostgreSQL: a table ``knowledge_search_<lang>(article_id, title, body, document)``;
  ``document`` is ``setweight(to_tsvector('simple', title), 'A') || … body 'B'`` with a GIN
  index; a query is ``to_tsquery('simple', 't1:* & t2:*')``.

Both find exactly the articles whose terms start with every query term; each database orders
them by its own rank (bm25 / ts_rank, title weighted) only to pick the best ``limit`` candidates,
and ``selectors.search`` ranks those candidates the same way in Python — so both databases give
the same order for the same candidates (the fixed query table proves it on both).

Written by the services (``index_article``) in the writing transaction; read by the
selectors (``candidates``). Neither imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection

from . import terms as terms_module

LANGUAGES = ("lv", "en")
_SAFE_TERM = re.compile(r"^[^\W_]+$", re.UNICODE)


def table(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(language)
    return f"knowledge_search_{language}"


def create_tables(schema_editor: object | None = None) -> None:
    """The index tables (migration 0002); ``IF NOT EXISTS``: safe to run again. No foreign key
    to the article on PostgreSQL on purpose: Django's test flush truncates the model tables
    without CASCADE, and a stale row is harmless (search keeps only ids of existing articles;
    a new article with a reused id overwrites the row)."""
    with connection.cursor() as cursor:
        for language in LANGUAGES:
            name = table(language)
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} ("
                    " article_id bigint PRIMARY KEY,"
                    " title text NOT NULL, body text NOT NULL,"
                    " document tsvector GENERATED ALWAYS AS ("
                    "  setweight(to_tsvector('simple', title), 'A') ||"
                    "  setweight(to_tsvector('simple', body), 'B')) STORED)"
                )
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name}_document ON {name} USING gin (document)"
                )
            else:
                cursor.execute(
                    f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5("
                    "title, body, tokenize = 'unicode61 remove_diacritics 0')"
                )


def drop_tables(schema_editor: object | None = None) -> None:
    with connection.cursor() as cursor:
        for language in LANGUAGES:
            cursor.execute(f"DROP TABLE IF EXISTS {table(language)}")


def index_article(article_id: int, texts: dict[str, tuple[str, str]]) -> None:
    """(Re)write one article's entries: ``texts`` maps language → (title, body plain text)."""
    with connection.cursor() as cursor:
        for language, (title, body) in texts.items():
            name = table(language)
            title_terms = " ".join(terms_module.terms(title, language))
            body_terms = " ".join(terms_module.terms(body, language))
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"INSERT INTO {name} (article_id, title, body) VALUES (%s, %s, %s)"  # noqa: S608 - the table name is one of two constants
                    " ON CONFLICT (article_id) DO UPDATE SET title = EXCLUDED.title,"
                    " body = EXCLUDED.body",
                    [article_id, title_terms, body_terms],
                )
            else:
                cursor.execute(f"DELETE FROM {name} WHERE rowid = %s", [article_id])  # noqa: S608 - the table name is one of two constants
                cursor.execute(
                    f"INSERT INTO {name} (rowid, title, body) VALUES (%s, %s, %s)",  # noqa: S608 - the table name is one of two constants
                    [article_id, title_terms, body_terms],
                )


def remove_article(article_id: int) -> None:
    with connection.cursor() as cursor:
        for language in LANGUAGES:
            column = "article_id" if connection.vendor == "postgresql" else "rowid"
            cursor.execute(f"DELETE FROM {table(language)} WHERE {column} = %s", [article_id])  # noqa: S608 - the table name is one of two constants


@dataclass(frozen=True)
class Candidate:
    article_id: int
    title_terms: list[str]
    body_terms: list[str]


def candidates(
    query: list[str], language: str, *, limit: int = 200, any_term: bool = False
) -> list[Candidate]:
    """Articles whose terms start with every query term (or any, with ``any_term``), the best
    ``limit`` by the database's own rank, with their terms for the final ranking."""
    safe = [term for term in query if _SAFE_TERM.match(term)]
    if not safe:
        return []
    name = table(language)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tsquery = (" | " if any_term else " & ").join(f"{term}:*" for term in safe)
            cursor.execute(
                f"SELECT article_id, title, body FROM {name}, to_tsquery('simple', %s) AS q"  # noqa: S608 - the table name is one of two constants
                " WHERE document @@ q"
                " ORDER BY ts_rank(document, q, 0) DESC, article_id LIMIT %s",
                [tsquery, limit],
            )
        else:
            match = (" OR " if any_term else " AND ").join(f'"{term}"*' for term in safe)
            cursor.execute(
                f"SELECT rowid, title, body FROM {name} WHERE {name} MATCH %s"  # noqa: S608 - the table name is one of two constants
                f" ORDER BY bm25({name}, 10.0, 1.0), rowid LIMIT %s",
                [match, limit],
            )
        rows = cursor.fetchall()
    return [Candidate(int(row[0]), row[1].split(), row[2].split()) for row in rows]
