"""The API's own Prometheus metrics, served at `GET /metrics` (CRIER_API_METRICS).

Every HTTP request is counted and timed by method, the matched route's path template and
status. Labels come only from the app's own route table, a fixed set of methods and the status
code, so neither a raw path (ids, a tenant's names) nor anything a caller sends can become a
label: the series stay few and the scrape carries no tenant data.

The endpoint has no API key, like `/healthz`: Prometheus scrapes it, and it should be reachable
from the scrape network only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client.exposition import choose_encoder
from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
OTHER_METHOD = "other"
# Any token is a valid HTTP method; outside these a caller could mint a series per request.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# What a request that raised before answering becomes, as ServerErrorMiddleware answers it.
SERVER_ERROR = 500


class ApiMetrics:
    """One app's metrics in a registry of its own, so apps built side by side (the tests build
    many in one process) neither collide on names nor count each other's requests."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("method", "route", "status")
        self.requests = Counter(
            "crier_api_requests",
            "HTTP requests answered, by method, route template and status",
            labels,
            registry=self.registry,
        )
        self.duration = Histogram(
            "crier_api_request_duration_seconds",
            "Time from a request's arrival to the start of its response",
            labels,
            registry=self.registry,
        )
        # Open event streams stay in here for as long as they are open.
        self.in_progress = Gauge(
            "crier_api_requests_in_progress",
            "HTTP requests being served, open streams included",
            ("method",),
            registry=self.registry,
        )
        # The same collectors the default registry carries (process_*, python_*): they only
        # read /proc and the interpreter when scraped.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            self.registry.register(collector)

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The scrape, in the format the scraper asked for (text, or OpenMetrics)."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type


def route_template(scope: Scope, arrived: Scope, routes: Sequence[BaseRoute]) -> str:
    """The path template of the route that served this request, once routing has run.

    FastAPI leaves the route it picked in the scope (a 405 included: the path matched, the
    method did not), so the router's own choice is read rather than redone; that route's
    template is relative to the app it lives in. Plain Starlette routes (the docs) and mounts
    leave no route behind, so those are matched here from `routes`, against the request as it
    `arrived`, before routing rewrote its scope.

    The route FastAPI leaves is the one declared, so a prefix given to `include_router` (none
    is today) would be missing from its label; tests/test_api_metrics.py checks every route's
    label against its path in the OpenAPI schema."""
    top: BaseRoute | None = None
    partial: BaseRoute | None = None
    for candidate in routes:
        # APIRoutes name themselves in the scope; included routers are FastAPI's to match.
        if isinstance(candidate, APIRoute) or not isinstance(candidate, Route | Mount):
            continue
        match, _ = candidate.matches(arrived)
        if match is Match.FULL:
            top = candidate
            break
        if match is Match.PARTIAL and partial is None:
            partial = candidate
    top = top or partial
    served = getattr(scope.get("route"), "path_format", None)
    if isinstance(served, str):
        # Routing into a mounted app moves the root path on by the mount's matched prefix.
        mounted = isinstance(top, Mount) and scope.get("root_path", "") != arrived["root_path"]
        return (top.path if isinstance(top, Mount) and mounted else "") + served
    if isinstance(top, Mount):
        return top.path + "/{path}"  # a mounted app with no route of its own for this path
    if isinstance(top, Route):
        return top.path_format
    return UNMATCHED


class MetricsMiddleware:
    """Pure ASGI, unlike BaseHTTPMiddleware: messages pass straight through, so a streaming
    response (the event stream) is neither buffered nor delayed."""

    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics, router: Router) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
        # The router rewrites the scope in place (root_path, path_params) as it descends.
        arrived: Scope = {
            "type": "http",
            "method": scope["method"],
            "path": scope["path"],
            "root_path": scope.get("root_path", ""),
        }
        started = time.perf_counter()
        answered = False

        def record(status: int) -> None:
            nonlocal answered
            answered = True
            route = route_template(scope, arrived, self.router.routes)
            labels = (method, route, str(status))
            self.metrics.requests.labels(*labels).inc()
            # Timed to the response's start, not its end: an event stream stays open for as
            # long as its client listens, and what matters is how long it waited to begin.
            self.metrics.duration.labels(*labels).observe(time.perf_counter() - started)

        async def observed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not answered:
                record(message["status"])
            await send(message)

        # By method only: the route is known once routing has run, and the gauge must be
        # raised on arrival to count requests still waiting for their handler.
        in_progress = self.metrics.in_progress.labels(method)
        in_progress.inc()
        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            if not answered:
                record(SERVER_ERROR)
            raise
        else:
            if not answered:  # the server answers an app that never started with a 500
                record(SERVER_ERROR)
        finally:
            in_progress.dec()


def install_metrics(app: FastAPI) -> ApiMetrics:
    """Counts every request to `app` and serves the scrape at `GET /metrics`."""
    metrics = ApiMetrics()
    # `app.router` is passed, not a copy of its routes: routers included after this call are
    # matched too.
    app.add_middleware(MetricsMiddleware, metrics=metrics, router=app.router)

    # A plain function, so FastAPI runs it in its thread pool: collecting reads /proc.
    def scrape(request: Request) -> Response:
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(body, headers={"Content-Type": content_type})

    app.add_api_route("/metrics", scrape, methods=["GET"], include_in_schema=False)
    return metrics
