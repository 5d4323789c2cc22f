"""The ``file`` source (being written: see the agent branch)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .base import Column, SourceError


class FileSource:
    def __init__(self, options: Mapping[str, object], secrets: Mapping[str, str]) -> None:
        raise SourceError("the file source is not available yet")

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def read(
        self,
        *,
        cursor_column: str | None = None,
        after: object | None = None,
        batch_size: int = 5000,
    ) -> Iterator[list[dict[str, object]]]:
        raise NotImplementedError

    def close(self) -> None:
        pass
