from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

router = Router(tags=["system"])


class ApiInfoOut(Schema):
    name: str
    version: str
    docs: str


@router.get("/", response=ApiInfoOut, auth=None, summary="API information (public)")
def api_info(request: HttpRequest) -> dict[str, str]:
    return {"name": "DAGR", "version": "1", "docs": "/api/v1/docs"}
