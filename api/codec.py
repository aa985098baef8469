"""The codec endpoint the Temporal Web UI and CLI call to show encrypted payloads decoded.

`POST /codec/decode` and `POST /codec/encode` take and answer Temporal's proto-JSON
`{"payloads": [{"metadata": {…base64…}, "data": "…base64…"}]}`. The codec opens every tenant's
payloads with the deployment's keys, so it is for operators only: callers send
`Authorization: Bearer <CRIER_CODEC_TOKEN>`, and a tenant's API key, whatever its scopes, is
refused. Without a token configured it answers 503, never open. In development, when
CRIER_CODEC_DEV_ORIGIN is on (`crier dev` sets it), the dev server's Web UI, which sends no
credential, is let in by its Origin from a loopback address.

It is its own small app, mounted under /codec, so its CORS (the UI's origin only) touches
nothing else.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads

from api.errors import error_response
from core.codec import EncryptionCodec
from core.config import Settings

# A decode request carries one event's payloads; crier's are small (ids, a post's text). A
# megabyte is far above any of them and keeps a caller from making the API buffer more.
MAX_BODY_BYTES = 1_000_000


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CodecRefused(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


def codec_app(settings: Settings) -> FastAPI:
    codec = EncryptionCodec.from_settings(settings)
    ui_origin = origin_of(settings.temporal_ui_url)
    token = settings.codec_token.get_secret_value().encode() if settings.codec_token else None
    dev_origin = settings.is_development and settings.codec_dev_origin
    app = FastAPI(title="crier payload codec", openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[ui_origin],
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )

    def authorise(request: Request) -> None:
        if (
            dev_origin
            and request.headers.get("origin") == ui_origin
            and _is_loopback(request.client.host if request.client else None)
        ):
            return
        if token is None:
            raise CodecRefused(
                error_response(
                    503,
                    "codec_not_configured",
                    "the payload codec is off: the operator sets CRIER_CODEC_TOKEN to use it",
                )
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
            raise CodecRefused(
                error_response(
                    401,
                    "unauthenticated",
                    "the codec is for operators: send CRIER_CODEC_TOKEN as a Bearer token "
                    "(API keys are not accepted)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            )

    async def read_payloads(request: Request) -> list[Payload]:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise CodecRefused(_too_large())
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise CodecRefused(_too_large())
        try:
            parsed: Any = json.loads(body)
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            return list(json_format.ParseDict(parsed, Payloads()).payloads)
        except (ValueError, json_format.ParseError):
            # Neither the parser's words nor the input go back: they could echo payload bytes.
            raise CodecRefused(
                error_response(
                    422,
                    "invalid_request",
                    'the body is not Temporal\'s Payloads JSON: {"payloads": [{"metadata": '
                    '{...}, "data": "<base64>"}]}',
                )
            ) from None

    async def decode_each(payloads: list[Payload]) -> list[Payload]:
        # One at a time, so that the answer names every payload that cannot be opened.
        opened: list[Payload] = []
        problems: list[dict[str, Any]] = []
        for index, payload in enumerate(payloads):
            try:
                opened += await codec.decode([payload])
            except InvalidTag:
                problems.append(_problem(index, "tampered, or sealed with another key"))
            except DecodeError:
                problems.append(_problem(index, "its plaintext is not a Temporal payload"))
            except ValueError:  # an unknown key id, or data too short to hold a nonce
                problems.append(_problem(index, "sealed with a key this deployment lacks"))
        if problems:
            raise CodecRefused(
                error_response(
                    422, "invalid_payloads", "some payloads cannot be decoded", details=problems
                )
            )
        return opened

    async def convert(request: Request, encode: bool) -> JSONResponse:
        try:
            authorise(request)
            payloads = await read_payloads(request)
            done = await codec.encode(payloads) if encode else await decode_each(payloads)
        except CodecRefused as refused:
            return refused.response
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


def _too_large() -> JSONResponse:
    return error_response(
        413, "body_too_large", f"the codec takes at most {MAX_BODY_BYTES} bytes per request"
    )


def _problem(index: int, why: str) -> dict[str, Any]:
    return {"loc": ["body", "payloads", index], "msg": f"cannot decode: {why}"}
