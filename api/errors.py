"""Every error leaves the API as `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorEnvelope(BaseModel):
    error: ErrorBody


_MEANINGS = {
    400: "The request cannot be used (an unknown or spent connect link, say)",
    401: "No API key, or an unknown or revoked one",
    403: "The key lacks the scope, or the tenant's plan does not allow it",
    404: "No such resource for this key's tenant and mode",
    409: "The resource is not in a state that allows this",
    413: "The request body is larger than the API takes (CRIER_MAX_REQUEST_BYTES)",
    422: "The request is invalid: every problem is listed",
    429: "The key's or the tenant's rate limit is spent: see Retry-After",
    502: "The platform did not answer as expected",
    503: "Temporal or a worker did not answer in time; nothing was lost",
}

# Documented on every /v1 route, so the OpenAPI schema describes every answer the API gives.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": meaning}
    for status, meaning in _MEANINGS.items()
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers


def problem(loc: list[str | int], msg: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details or []}},
        status_code=status,
        headers=headers,
    )


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and what: pydantic's `input` echo could carry a secret back into a log line.
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "invalid"))}
        for error in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        return error_response(
            422, "invalid_request", f"{len(details)} problem(s) in the request", details
        )

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, exc: DataError) -> JSONResponse:
        # PostgreSQL text cannot hold U+0000 (SQLite's can): psycopg refuses such a value
        # before sending it, wherever it came from (a path, a query, a JSON string).
        if "NUL (0x00)" not in str(exc.orig):
            raise exc
        details = [problem([], "text may not contain the NUL character (U+0000)")]
        return error_response(422, "invalid_request", "1 problem(s) in the request", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)
