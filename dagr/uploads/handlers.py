"""The upload size limit, enforced while the request body is received.

Django's multipart parser writes a file field to a temporary file as it arrives; without a
limit a 5 GB body would be written in full before a view could refuse it. This handler counts
the bytes of the file field and stops the upload at the limit: the rest of the body is read and
discarded (so the browser gets the page with the message instead of a connection reset), and
nothing is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitHandler(FileUploadHandler):
    """Put first in ``request.upload_handlers``; ``exceeded`` tells the view what happened."""

    def __init__(self, request: Any, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.exceeded = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: Any,
        content_length: int,
        boundary: Any,
        encoding: str | None = None,
    ) -> None:
        # The whole body is larger than the file may be plus generous room for the other fields:
        # refuse on the first chunk instead of counting to the limit first.
        if content_length and content_length > self.limit + 1024 * 1024:
            self.exceeded = True

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.exceeded or self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
