"""The codec endpoint the Temporal Web UI calls to show encrypted payloads decoded.

`POST /codec/decode` and `POST /codec/encode` take and answer Temporal's proto-JSON
`{"payloads": [{"metadata": {…base64…}, "data": "…base64…"}]}`. Callers present an API key
with `social.view`; in development the dev UI, which has no login, is let in by its origin.
It is its own small app, mounted under /codec, so its CORS (the UI's origin only) touches
nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from sqlmodel import select
from temporalio.api.common.v1 import Payloads

from api.errors import error_response
from core.codec import EncryptionCodec
from core.config import Settings
from core.db import Database
from core.models import ApiKey
from core.security import hash_api_key


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def codec_app(settings: Settings, parent: FastAPI) -> FastAPI:
    codec = EncryptionCodec.from_settings(settings)
    ui_origin = origin_of(settings.temporal_ui_url)
    app = FastAPI(title="crier payload codec", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ui_origin],
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )

    async def allowed(request: Request) -> bool:
        if settings.is_development and request.headers.get("origin") == ui_origin:
            return True
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            return False
        database: Database = parent.state.db
        async with database.session() as session:
            found = (
                await session.exec(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key)))
            ).first()
        return found is not None and found.revoked_at is None and "social.view" in found.scopes

    async def convert(request: Request, encode: bool) -> JSONResponse:
        if not await allowed(request):
            return error_response(
                401, "unauthenticated", "send an API key with social.view as a Bearer token"
            )
        try:
            body: Any = await request.json()
            payloads = json_format.ParseDict(body, Payloads())
            done = await (codec.encode if encode else codec.decode)(list(payloads.payloads))
        except (ValueError, json_format.ParseError) as exc:
            return error_response(422, "invalid_request", f"cannot read the payloads: {exc}")
        answer = Payloads(payloads=done)
        return JSONResponse(
            json_format.MessageToDict(answer, always_print_fields_with_no_presence=True)
        )

    @app.post("/decode")
    async def decode(request: Request) -> JSONResponse:
        return await convert(request, encode=False)

    @app.post("/encode")
    async def encode(request: Request) -> JSONResponse:
        return await convert(request, encode=True)

    return app
