"""`make bench-hostile`: hostile media hosts, receivers and load against a whole local stack
(issue 18; bench/README.md, "Hostile inputs"), with the API's and the worker's peak memory.

The stack is bench/stack.py's (Temporal's dev server, the sandbox, one crier worker, the API,
the bare worker), in development mode as `make bench` runs it, plus a second API process in
production-like media mode (`CRIER_MEDIA_PRIVATE_DESTINATIONS=false`) on the same database.
The hostile server (tests/support/hostile_servers.py) runs on loopback in this process.

Each case reports what happened (an HTTP status and the error it named, or a target's state
and reason), never crashes the run: features it relies on may be missing, and a missing one
shows as an outcome that is not the expected one. Memory is each process's VmHWM (peak
resident set) from /proc: idle (after start-up), then after the hostile inputs; the bare
worker (bench/bare.py: a Temporal worker with one no-op activity) is the baseline a worker is
compared with, and the API's own idle peak is the API's.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from bench.stack import BENCH_KEY, BenchStack
from bench.stats import table
from cli.dev import Child
from cli.seed import seed_demo
from core.status import Platform
from tests.support.hostile_servers import HostileServer, hostile_server, png_bomb
from tests.support.servers import free_port

RESULTS = Path(__file__).parent / "results"
OTHER_KEY = "sk_test_bench_other_tenant"
HAMMER_KEY = "sk_test_bench_hammer_tenant"
TERMINAL = {"published", "failed", "dead", "cancelled", "rejected", "expired", "missed"}
# Short budgets so a slow host is cut within the run; the defaults are 10 s and 45 s.
ENV = {
    "CRIER_MEDIA_FETCH_TIMEOUT_SECONDS": "3",
    "CRIER_MEDIA_PUBLISH_TIMEOUT_SECONDS": "3",
    "CRIER_WEBHOOK_TIMEOUT": "PT5S",
    # A slow media host is the host's passing trouble: retried like a platform's 5xx, 5 tries
    # from a minute apart, tripling, by default (about 40 min); seconds here, so the run sees the
    # target end `dead`.
    "CRIER_PUBLISH_INITIAL_INTERVAL": "PT1S",
    # Room for the bench's own calls with its key; the hammer key runs into it.
    "CRIER_RATE_LIMIT_PER_KEY": "600/minute",
    "CRIER_RATE_LIMIT_PER_TENANT": "1200/minute",
}
HAMMER_REQUESTS = 1500
MEDIA_PLATFORM = Platform.BLUESKY  # downloads each image at publish time to upload it
PLAIN_PLATFORM = Platform.LINKEDIN


@dataclass
class Outcome:
    case: str
    expected: str
    got: str
    met: bool


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, case: str, expected: str, got: str, met: bool) -> None:
        self.outcomes.append(Outcome(case, expected, got, met))
        print(f"  {case}: {got} ({'met' if met else 'NOT met'})", flush=True)


def proc_mb(pid: int, field_name: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field_name} for {pid}")


def first_error(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:160]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = error.get("details") or error.get("problems") or []
        if details and isinstance(details, list) and isinstance(details[0], dict):
            return str(details[0].get("message", details[0]))[:160]
        return str(error.get("message", error))[:160]
    return json.dumps(body)[:160]


class HostileBench:
    def __init__(
        self, stack: BenchStack, hostile: HostileServer, api: httpx.AsyncClient, prod_api: str
    ) -> None:
        self.stack = stack
        self.hostile = hostile
        self.api = api
        self.prod_api = prod_api
        assert stack.demo is not None
        self.accounts = stack.demo.account_ids
        self.run = Run()

    def url(self, path: str) -> str:
        return f"{self.hostile.url}{path}"

    def pids(self) -> dict[str, int]:
        pids = {c.name: c.process.pid for c in self.stack.stack.children}
        if self.stack.bare is not None:
            pids["bare worker"] = self.stack.bare.pid
        return {name: pids[name] for name in ("api", "api-prod", "worker", "bare worker")}

    def note_memory(self, moment: str) -> None:
        for name, pid in self.pids().items():
            figures = self.run.memory.setdefault(name, {})
            figures[f"{moment}_peak"] = proc_mb(pid, "VmHWM")
            figures[f"{moment}_rss"] = proc_mb(pid, "VmRSS")

    async def create(
        self,
        media: list[str],
        platform: Platform = MEDIA_PLATFORM,
        *,
        base: str | None = None,
        overrides: dict[Platform, list[str]] | None = None,
    ) -> httpx.Response:
        targets: list[dict[str, Any]] = [{"account_id": self.accounts[platform]}]
        for other, urls in (overrides or {}).items():
            targets.append({"account_id": self.accounts[other], "override_media_urls": urls})
        body = {
            "body": f"hostile bench {time.time():.3f}",
            "media_urls": media,
            "targets": targets,
        }
        if base is None:
            return await self.api.post("/v1/posts", json=body)
        return await self.api.post(f"{base}/v1/posts", json=body)

    async def create_time(
        self,
        case: str,
        media: list[str],
        *,
        base: str | None = None,
        fetches: str = "",
        overrides: dict[Platform, list[str]] | None = None,
    ) -> None:
        """A post whose media is hostile: a 4xx naming it, the API up, nothing half-made."""
        before = sum(self.hostile.hits.values())
        began = time.monotonic()
        try:
            async with asyncio.timeout(60):
                answer = await self.create(media, base=base, overrides=overrides)
        except (TimeoutError, httpx.HTTPError) as error:
            self.run.add(case, "4xx naming the URL", f"no answer: {type(error).__name__}", False)
            return
        took = time.monotonic() - began
        hits = sum(self.hostile.hits.values()) - before
        got = f"{answer.status_code} in {took:.1f} s, {hits} fetched: {first_error(answer)}"
        met = 400 <= answer.status_code < 500 and self.stack.ready()
        if fetches == "none":
            met = met and hits == 0
        self.run.add(case, "4xx naming the URL" + (", nothing fetched" * (fetches == "none")),
                     got, met)  # fmt: skip

    async def target_of(self, post_id: str) -> dict[str, Any]:
        answer = await self.api.get(f"/v1/posts/{post_id}/targets")
        answer.raise_for_status()
        target: dict[str, Any] = answer.json()["data"][0]
        return target

    async def publish_now(self, media: list[str], platform: Platform) -> str:
        created = await self.create(media, platform)
        if created.status_code != 201:
            raise RuntimeError(f"create: {created.status_code} {first_error(created)}")
        post_id: str = created.json()["data"]["id"]
        published = await self.api.post(f"/v1/posts/{post_id}/publish", json={})
        if published.status_code >= 300:
            raise RuntimeError(f"publish: {published.status_code} {first_error(published)}")
        return post_id

    async def settled(self, post_id: str, within: float) -> tuple[dict[str, Any], float]:
        began = time.monotonic()
        target = await self.target_of(post_id)
        while target["status"] not in TERMINAL and time.monotonic() - began < within:
            await asyncio.sleep(1)
            target = await self.target_of(post_id)
        return target, time.monotonic() - began

    async def publish_time(self, case: str, then: str, expected: str, within: float) -> None:
        """Good at the create-time check, hostile when the worker downloads it to publish."""
        url = self.url(f"/after-check/{then}/{time.time_ns()}.png")
        try:
            post_id = await self.publish_now([url], MEDIA_PLATFORM)
            target, took = await self.settled(post_id, within)
        except (RuntimeError, httpx.HTTPError) as error:
            self.run.add(case, expected, f"error: {error}"[:200], False)
            return
        path = httpx.URL(url).path
        got = (
            f"{target['status']} after {took:.0f} s, {self.hostile.hits[path]} fetches: "
            f"{(target.get('last_error') or '')[:140]}"
        )
        self.run.add(case, expected, got, target["status"] == expected.split()[0])

    async def tarpit_receivers(self) -> None:
        """Receivers that never answer or trickle; meanwhile ordinary posts must go out."""
        case = "tarpit webhook receivers (never answers; trickles)"
        made = []
        for path in ("/tarpit", "/tarpit-trickle"):
            answer = await self.api.post("/v1/webhooks", json={"url": self.url(path)})
            made.append(answer.status_code)
            if answer.status_code != 201:
                self.run.add(case, "registered", f"{answer.status_code}: {first_error(answer)}",
                             False)  # fmt: skip
                return
        began = time.monotonic()
        try:
            ids = [await self.publish_now([], PLAIN_PLATFORM) for _ in range(5)]
            states = [await self.settled(i, 60) for i in ids]
        except (RuntimeError, httpx.HTTPError) as error:
            self.run.add(case, "posts on time", f"error: {error}"[:200], False)
            return
        took = time.monotonic() - began
        published = sum(1 for target, _ in states if target["status"] == "published")
        held = self.hostile.hits["/tarpit"] + self.hostile.hits["/tarpit-trickle"]
        self.run.add(
            case,
            "5 ordinary posts published meanwhile",
            f"{published}/5 published in {took:.1f} s; receivers hit {held} times",
            published == 5,
        )

    async def hammer(self) -> None:
        """One key hammering: 429s with Retry-After for it, another tenant's key served."""
        case = f"one key hammering ({HAMMER_REQUESTS} GETs, 32 at a time)"
        statuses: Counter[int] = Counter()
        retry_after: Counter[bool] = Counter()
        other: Counter[int] = Counter()
        gate = asyncio.Semaphore(32)
        hammer_headers = {"Authorization": f"Bearer {HAMMER_KEY}"}
        other_headers = {"Authorization": f"Bearer {OTHER_KEY}"}

        async def one() -> None:
            async with gate:
                answer = await self.api.get("/v1/posts", headers=hammer_headers)
                statuses[answer.status_code] += 1
                if answer.status_code == 429:
                    retry_after["retry-after" in answer.headers] += 1

        async def neighbour() -> None:
            for _ in range(20):
                answer = await self.api.get("/v1/posts", headers=other_headers)
                other[answer.status_code] += 1
                await asyncio.sleep(0.2)

        began = time.monotonic()
        await asyncio.gather(neighbour(), *(one() for _ in range(HAMMER_REQUESTS)))
        took = time.monotonic() - began
        got = (
            f"hammer: {dict(statuses)} ({retry_after[True]} with Retry-After) in {took:.1f} s; "
            f"other tenant: {dict(other)}"
        )
        met = statuses[429] > 0 and retry_after[False] == 0 and other == Counter({200: 20})
        self.run.add(case, "429s for it, 200s for the other tenant", got, met)


async def each(cases: list[Callable[[], Awaitable[None]]]) -> None:
    for case in cases:
        try:
            await case()
        except Exception as error:  # one case's failure is its outcome, not the run's
            print(f"  a case failed to run: {type(error).__name__}: {error}", flush=True)


async def hostile_cases(bench: HostileBench) -> None:
    url = bench.url
    print("create-time checks (the API)…", flush=True)
    # Bluesky and X take 4 images each: 8 distinct bombs in one request, each ~500 MB decoded.
    bombs = [url(f"/png/bomb.png?copy={n}") for n in range(8)]
    await each(
        [
            lambda: bench.create_time(
                "PNG bomb 13,000² px, 8 distinct URLs",
                bombs[:4],
                overrides={Platform.X: bombs[4:]},
            ),
            lambda: bench.create_time("endless body", [url("/endless")]),
            lambda: bench.create_time("declares 100 MB", [url("/declared-large")]),
            lambda: bench.create_time("gzip bomb (1 GB in 1 MB)", [url("/gzip-bomb")]),
            lambda: bench.create_time("slow trickle, 1 byte / 0.5 s", [url("/trickle")]),
            lambda: bench.create_time("redirect loop", [url("/loop")]),
            lambda: bench.create_time(
                "21 distinct URLs over the post and an override",
                [url(f"/png/good.png?n={n}") for n in range(4)],
                overrides={PLAIN_PLATFORM: [url(f"/png/good.png?n={n}") for n in range(4, 21)]},
                fetches="none",
            ),
            lambda: bench.create_time(
                "redirect to 169.254.169.254, production-like API",
                [url("/redirect/metadata")],
                base=bench.prod_api,
            ),
            lambda: bench.create_time(
                "redirect to 169.254.169.254 via ?to=, production-like API",
                [url(f"/redirect?to={quote('http://169.254.169.254/latest/meta-data/')}")],
                base=bench.prod_api,
            ),
        ]
    )
    print("publish-time downloads (the worker)…", flush=True)
    await each(
        [
            lambda: bench.publish_time(
                "gzip bomb served after the create-time check", "gzip-bomb", "failed", 90
            ),
            lambda: bench.publish_time(
                "endless body served after the check", "endless", "failed", 90
            ),
            lambda: bench.publish_time(
                "slow trickle served after the check", "trickle", "dead (retried, then)", 90
            ),
        ]
    )
    print("webhook receivers…", flush=True)
    await each([bench.tarpit_receivers])
    print("one key hammering…", flush=True)
    await each([bench.hammer])


def spawn_prod_api(stack: BenchStack, port: int) -> None:
    """A second API process on the same database, media refused on private addresses."""
    env = {
        **stack.stack.env(),
        "CRIER_API_PORT": str(port),
        "CRIER_MEDIA_PRIVATE_DESTINATIONS": "false",
    }
    logs = stack.settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out = (logs / "api-prod.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "api"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.stack.children.append(Child("api-prod", process))
    stack.stack.wait_for_http(f"http://127.0.0.1:{port}/readyz", "the production-like API")


async def measure(run_into: dict[str, Any]) -> Run:
    with tempfile.TemporaryDirectory(prefix="crier-bench-hostile-") as workdir:
        stack = BenchStack(Path(workdir), extra_env=ENV)
        stack.start()
        try:
            for key in (OTHER_KEY, HAMMER_KEY):
                seed_demo(stack.settings.model_copy(update={"dev_api_key": SecretStr(key)}))
            prod_port = free_port()
            spawn_prod_api(stack, prod_port)
            await asyncio.to_thread(png_bomb)  # built once, before the API's 3 s budget runs
            async with (
                hostile_server() as hostile,
                httpx.AsyncClient(
                    base_url=stack.api,
                    headers={"Authorization": f"Bearer {BENCH_KEY}"},
                    timeout=90,
                    limits=httpx.Limits(max_connections=64),
                ) as api,
            ):
                bench = HostileBench(stack, hostile, api, f"http://127.0.0.1:{prod_port}")
                await asyncio.sleep(5)  # idle: the start-up's own peak settles first
                bench.note_memory("idle")
                await hostile_cases(bench)
                bench.note_memory("hostile")
                run_into["hits"] = dict(hostile.hits)
                run_into["hung_up"] = dict(hostile.hung_up)
                bench.run.add(
                    "the API and the worker still up",
                    "ready, both alive",
                    f"API ready: {stack.ready()}; worker alive: "
                    f"{stack.child('worker').process.poll() is None}",
                    stack.ready() and stack.child("worker").process.poll() is None,
                )
                return bench.run
        finally:
            stack.stop()


def memory_rows(run: Run) -> list[list[str]]:
    rows = [["process", "idle peak", "peak under hostile inputs", "RSS after", "ratio"]]
    bare = run.memory.get("bare worker", {}).get("hostile_peak")
    for name, figures in run.memory.items():
        idle, peak, after = figures["idle_peak"], figures["hostile_peak"], figures["hostile_rss"]
        if name == "worker" and bare:
            ratio = f"{peak / idle:.2f}x its idle peak, {peak / bare:.2f}x the bare worker's"
        else:
            ratio = f"{peak / idle:.2f}x its idle peak"
        rows.append([name, f"{idle:.0f} MB", f"{peak:.0f} MB", f"{after:.0f} MB", ratio])
    return rows


def main() -> None:
    extra: dict[str, Any] = {}
    run = asyncio.run(measure(extra))
    print()
    print(table([["case", "expected", "outcome", "met"]]
                + [[o.case, o.expected, o.got, "met" if o.met else "NOT met"]
                   for o in run.outcomes]))  # fmt: skip
    print()
    print(table(memory_rows(run)))
    RESULTS.mkdir(exist_ok=True)
    figures = {
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "outcomes": [o.__dict__ for o in run.outcomes],
        "memory_mb": run.memory,
        **extra,
    }
    (RESULTS / "hostile.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
