"""`make bench`: crier's delivery and API measured next to bare Temporal on the same dev server,
in one run, printed as one table (bench/README.md says what each line means).

Each figure is measured, not estimated: lateness is the sandbox's receive time minus the
target's time; the bare line is the no-op activity's start time minus its workflow's time.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import typer
from temporalio.client import Client

from bench.bare import BARE_WORKFLOW
from bench.stack import BARE_QUEUE, BENCH_KEY, BenchStack
from bench.stats import summary, table
from core.status import Platform

app = typer.Typer(add_completion=False)
RESULTS = Path(__file__).parent / "results"
CONCURRENCY = 16
# Platforms with no publishing budget in their rules, so a burst is never held back by one.
BURST_PLATFORM = Platform.LINKEDIN
THREE = (Platform.LINKEDIN, Platform.BLUESKY, Platform.FACEBOOK)


@dataclass
class Report:
    rows: list[list[str]] = field(
        default_factory=lambda: [["measure", "crier", "bare", "ratio / target"]]
    )
    figures: dict[str, Any] = field(default_factory=dict)

    def add(self, measure: str, crier: str, bare: str, verdict: str) -> None:
        self.rows.append([measure, crier, bare, verdict])
        print(f"  {measure}: crier {crier} · bare {bare} · {verdict}", flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def lateness_cell(s: dict[str, float]) -> str:
    return f"p50 {ms(s['p50'])} / p99 {ms(s['p99'])} / max {ms(s['max'])}"


async def bounded(calls: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


class Bench:
    def __init__(self, stack: BenchStack, api: httpx.AsyncClient, client: Client) -> None:
        self.stack = stack
        self.api = api
        self.client = client
        assert stack.demo is not None
        self.accounts = stack.demo.account_ids

    async def create(self, text: str, platforms: tuple[Platform, ...]) -> str:
        answer = await self.api.post(
            "/v1/posts",
            json={"body": text, "targets": [{"account_id": self.accounts[p]} for p in platforms]},
        )
        answer.raise_for_status()
        post_id: str = answer.json()["data"]["id"]
        return post_id

    async def schedule(self, post_id: str, when: datetime) -> None:
        answer = await self.api.post(
            f"/v1/posts/{post_id}/publish", json={"scheduled_for": when.isoformat()}
        )
        answer.raise_for_status()

    async def received(self, marker: str) -> list[float]:
        answer = await self.api.get(  # the sandbox's control API, same client pool
            f"{self.stack.sandbox}/_control/posts",
            params={"platform": BURST_PLATFORM.value},
        )
        return [p["received_at"] for p in answer.json()["data"] if p["text"].startswith(marker)]

    async def settle(self, within: float = 300) -> None:
        """Until every delivery due within the hour has closed: each measure starts on a quiet
        stack, not in the previous one's wake (a burst's workflows finish after its posts)."""
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        query = (
            'WorkflowType="PublishTargetWorkflow" AND ExecutionStatus="Running" '
            f'AND CrierScheduledFor < "{soon}"'
        )
        deadline = time.monotonic() + within
        while (await self.client.count_workflows(query)).count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"deliveries still running {within:.0f} s after a measure")
            await asyncio.sleep(0.5)

    async def crier_burst(self, n: int, lead: float) -> tuple[list[float], float]:
        """n targets due in the same second through the whole pipeline: (lateness, drain/s)."""
        marker = f"burst-{n}-{time.time():.0f}"
        ids = await bounded(
            [partial(self.create, f"{marker} #{i}", (BURST_PLATFORM,)) for i in range(n)],
            CONCURRENCY,
        )
        started = time.monotonic()
        await self.schedule(ids[0], datetime.now(UTC) + timedelta(days=1))  # warm the path
        estimate = max(5.0, n / 40)  # seconds to schedule them all, generously
        # Scheduled before their early wake (CRIER_PUBLISH_LEAD), as posts usually are: the
        # burst is measured, not the scheduling requests it would otherwise compete with.
        ahead = estimate + self.stack.settings.publish_lead.total_seconds() + lead
        due = datetime.fromtimestamp(math.ceil(time.time() + ahead), UTC)
        await bounded([partial(self.schedule, p, due) for p in ids[1:]], CONCURRENCY)
        scheduled_in = time.monotonic() - started
        if datetime.now(UTC) >= due:
            raise RuntimeError(f"scheduling {n} took {scheduled_in:.1f} s: past their time")
        # The first (warm-up) post went to tomorrow; n - 1 are due now.
        deadline = due.timestamp() + 300
        while time.time() < deadline:
            got = await self.received(marker)
            if len(got) >= n - 1:
                break
            await asyncio.sleep(0.5)
        else:
            raise RuntimeError(f"only {len(got)} of {n - 1} arrived within 300 s")
        late = [t - due.timestamp() for t in got]
        return late, len(late) / max(max(late), 1e-3)

    async def start_bare(self, n: int, due: float, prefix: str) -> list[Any]:
        """n bare workflows due at `due` (unix seconds), 16 starts at a time."""
        return await bounded(
            [
                partial(
                    self.client.start_workflow,
                    BARE_WORKFLOW,
                    due,
                    id=f"{prefix}-{i}",
                    task_queue=BARE_QUEUE,
                )
                for i in range(n)
            ],
            CONCURRENCY,
        )

    async def bare_burst(self, n: int, lead: float) -> tuple[list[float], float]:
        estimate = max(5.0, n / 40)  # as generous as crier's
        due = math.ceil(time.time() + estimate + lead)
        handles = await self.start_bare(n, due, f"bare-{due}-{n}")
        if time.time() >= due:
            raise RuntimeError(f"starting {n} bare workflows took past their time")
        fired = await asyncio.gather(*(h.result() for h in handles))
        late = [float(f) - due for f in fired]
        return late, len(late) / max(max(late), 1e-3)

    async def crash(self, n: int) -> tuple[list[float], int, float]:
        """n targets due at T; the worker SIGKILLed at T - 5 s and started again at T + 5 s:
        (seconds after the worker's return each was received, duplicates, back_at - T)."""
        marker = f"crash-{n}-{time.time():.0f}"
        ids = await bounded(
            [partial(self.create, f"{marker} #{i}", (BURST_PLATFORM,)) for i in range(n)],
            CONCURRENCY,
        )
        due = math.ceil(time.time() + max(10.0, n / 40) + 10)
        when = datetime.fromtimestamp(due, UTC)
        await bounded([partial(self.schedule, p, when) for p in ids], CONCURRENCY)
        await asyncio.sleep(due - 5 - time.time())
        self.stack.kill_worker()
        await asyncio.sleep(due + 5 - time.time())
        self.stack.start_worker()
        back = time.time()
        deadline = back + 120
        while time.time() < deadline:
            got = await self.received(marker)
            if len(got) >= n:
                break
            await asyncio.sleep(0.2)
        texts = [
            p["text"]
            for p in (
                await self.api.get(
                    f"{self.stack.sandbox}/_control/posts",
                    params={"platform": BURST_PLATFORM.value},
                )
            ).json()["data"]
            if p["text"].startswith(marker)
        ]
        duplicates = len(texts) - len(set(texts))
        if len(set(texts)) < n:
            raise RuntimeError(f"crash case: {len(set(texts))} of {n} published within 120 s")
        return [t - back for t in got], duplicates, back - due

    async def scheduling_throughput(
        self, pairs: int, checkpoints: tuple[int, ...]
    ) -> tuple[list[float], float, dict[int, dict[str, float]]]:
        """Create-and-schedule `pairs` posts of 3 targets, days ahead: latencies, pairs/s, RSS."""
        when = datetime.now(UTC) + timedelta(days=3)
        latencies: list[float] = []
        memory: dict[int, dict[str, float]] = {}
        done = 0
        gate = asyncio.Semaphore(CONCURRENCY)
        pending = sorted(checkpoints)

        async def one(i: int) -> None:
            nonlocal done
            async with gate:
                began = time.perf_counter()
                post_id = await self.create(f"ahead #{i}", THREE)
                await self.schedule(post_id, when)
                latencies.append(time.perf_counter() - began)
                done += 1

        started = time.perf_counter()
        tasks = [asyncio.create_task(one(i)) for i in range(pairs)]
        while pending:
            await asyncio.sleep(0.2)
            if done * 3 >= pending[0]:
                await asyncio.sleep(2)  # let the worker take the new workflows in
                memory[pending.pop(0)] = {
                    "worker": self.stack.rss_mb("worker"),
                    "api": self.stack.rss_mb("api"),
                }
        await asyncio.gather(*tasks)
        return latencies, pairs / (time.perf_counter() - started), memory

    async def bare_starts(self, n: int) -> float:
        due = time.time() + 3 * 86400
        began = time.perf_counter()
        await self.start_bare(n, due, f"bare-ahead-{due}")
        return n / (time.perf_counter() - began)


async def measure(
    report: Report, sizes: tuple[int, ...], lead: float, pairs: int, crash: int, database_url: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="crier-bench-") as workdir:
        stack = BenchStack(Path(workdir), database_url=database_url)
        stack.start()
        try:
            client = await Client.connect(stack.temporal)
            limits = httpx.Limits(max_connections=CONCURRENCY * 2)
            async with httpx.AsyncClient(
                base_url=stack.api,
                headers={"Authorization": f"Bearer {BENCH_KEY}"},
                timeout=60,
                limits=limits,
            ) as api:
                bench = Bench(stack, api, client)
                await run_all(bench, report, sizes, lead, pairs, crash)
        finally:
            stack.stop()
            # The children's logs of the last run, to look into a figure.
            shutil.rmtree(RESULTS / "logs", ignore_errors=True)
            shutil.copytree(Path(workdir) / "logs", RESULTS / "logs", dirs_exist_ok=True)


async def run_all(
    bench: Bench, report: Report, sizes: tuple[int, ...], lead: float, pairs: int, crash: int
) -> None:
    for n in sizes:
        print(f"burst of {n} due in one second…", flush=True)
        bare_late, bare_rate = await bench.bare_burst(n, lead)
        late, rate = await bench.crier_burst(n, lead)
        await bench.settle()
        s, b = summary(late), summary(bare_late)
        report.figures[f"lateness_{n}"] = {"crier": s, "bare": b}
        target = {100: 0.25, 1000: 1.0}.get(n)
        verdict = (
            f"p99 ≤ {target:g} s: {'met' if s['p99'] <= target else 'NOT met'}"
            if target
            else f"p99 x{s['p99'] / max(b['p99'], 1e-3):.1f} bare"
        )
        report.add(f"lateness, {n} due at once", lateness_cell(s), lateness_cell(b), verdict)
        if n >= 1000:
            ratio = rate / bare_rate
            report.figures["drain"] = {"crier": rate, "bare": bare_rate, "ratio": ratio}
            report.add(
                f"burst drain, {n} due at once",
                f"{rate:.0f} /s",
                f"{bare_rate:.0f} /s",
                f"ratio {ratio:.2f} (≥ 0.6: {'met' if ratio >= 0.6 else 'NOT met'})",
            )

    if crash:
        print(f"crash: {crash} due, worker SIGKILLed 5 s before, back 10 s later…", flush=True)
        after, duplicates, back = await bench.crash(crash)
        s = summary(after)
        report.figures["crash"] = {"after_return": s, "duplicates": duplicates, "back": back}
        report.add(
            f"crash: {crash} due, worker killed T-5 s, back T+{back:.0f} s",
            f"all by +{s['max']:.2f} s after return, {duplicates} twice",
            "",
            f"≤ 2 s, none twice: {'met' if s['max'] <= 2 and not duplicates else 'NOT met'}",
        )

    print(f"create and schedule {pairs} posts of 3 targets, days ahead…", flush=True)
    bare_rate = await bench.bare_starts(min(3000, pairs * 3))
    checkpoints = tuple(c for c in (1000, 5000, 10000) if c <= pairs * 3)
    latencies, rate, memory = await bench.scheduling_throughput(pairs, checkpoints)
    s = summary(latencies)
    needed = 0.5 * bare_rate / 3
    report.figures["api"] = {"pairs_per_s": rate, "latency": s, "bare_starts_per_s": bare_rate}
    report.add(
        "POST /v1/posts + /publish, 3 targets (posts/s)",
        f"{rate:.1f} /s (p50 {ms(s['p50'])}, p99 {ms(s['p99'])})",
        f"{bare_rate:.0f} starts/s",
        f"≥ {needed:.1f} /s: {'met' if rate >= needed else 'NOT met'}",
    )
    report.figures["memory"] = memory
    for count, rss in memory.items():
        report.add(
            f"resident memory at {count} targets scheduled",
            f"worker {rss['worker']:.0f} MB · api {rss['api']:.0f} MB",
            "",
            f"worker ≤ 300 MB: {'met' if rss['worker'] <= 300 else 'NOT met'}",
        )


@app.command()
def main(
    sizes: str = typer.Option("100,1000", help="Burst sizes, comma-separated."),
    lead: float = typer.Option(0.0, help="Extra seconds between scheduling and the due time."),
    pairs: int = typer.Option(3334, help="Posts of 3 targets for the throughput/memory run."),
    crash: int = typer.Option(100, help="Targets in the worker-crash case (0: skip it)."),
    database_url: str = typer.Option(
        "", help="crier's database (an empty PostgreSQL one); empty: a SQLite file."
    ),
) -> None:
    report = Report()
    report.figures["started_at"] = datetime.now(UTC).isoformat()
    report.figures["git"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    asyncio.run(
        measure(report, tuple(int(s) for s in sizes.split(",")), lead, pairs, crash, database_url)
    )
    print()
    print(table(report.rows))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report.figures, indent=2))


if __name__ == "__main__":
    app()
