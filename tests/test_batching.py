"""Group commit (core/batching.py): a burst's publishes claim their targets and write their
attempts in a few shared transactions, and none of them is the worse for sharing one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlmodel import col, select, update

from activities.fire_stops import FireStops
from activities.ledger import Ledger
from core.batching import Batcher
from core.config import Settings
from core.db import Database
from core.messages.delivery import StopFireRequest
from core.models import Attempt, Event, Post, Target
from core.status import AttemptOutcome, TargetStatus
from providers.base import PostContent, Published
from tests.support.factories import make_facebook_page, make_post, make_tenant
from tests.support.waiting import eventually


class Recorder:
    def __init__(self, refuse: str | None = None, held: asyncio.Event | None = None) -> None:
        self.batches: list[list[str]] = []
        self.refuse = refuse
        self.held = held  # when given, each write lasts until it is set

    async def write(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if self.held is not None:
            await self.held.wait()
        else:
            await asyncio.sleep(0.01)  # a transaction takes a while; callers keep arriving
        if self.refuse in items:
            raise ValueError(f"refused {self.refuse}")
        return [item.upper() for item in items]


async def test_callers_of_the_same_moment_share_a_batch_and_get_their_own_answers() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.write, key=lambda item: item)
    items = [f"t{i}" for i in range(50)]
    answers = await asyncio.gather(*(batcher.submit(item) for item in items))
    assert answers == [item.upper() for item in items]
    assert len(recorder.batches) == 1
    assert sorted(recorder.batches[0]) == sorted(items)


async def test_callers_arriving_during_a_write_go_into_the_next_batch() -> None:
    done = asyncio.Event()
    recorder = Recorder(held=done)
    batcher = Batcher(recorder.write, key=lambda item: item)
    first = asyncio.ensure_future(batcher.submit("a"))

    async def writing() -> bool:
        return recorder.batches == [["a"]]

    await eventually(writing, what="the first batch to be written")
    later = asyncio.gather(*(batcher.submit(f"b{i}") for i in range(10)))
    await asyncio.sleep(0)  # one turn of the loop: each of them has handed in its item
    assert not first.done()  # they came while the first was being written
    done.set()
    assert await first == "A" and await later == [f"B{i}" for i in range(10)]
    assert recorder.batches == [["a"], [f"b{i}" for i in range(10)]]


async def test_two_writes_for_one_key_never_share_a_batch() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.write, key=lambda item: item.split(":")[0])
    await asyncio.gather(
        batcher.submit("t1:first"), batcher.submit("t1:second"), batcher.submit("t2:only")
    )
    assert recorder.batches == [["t1:first", "t2:only"], ["t1:second"]]


async def test_a_bad_item_fails_alone() -> None:
    recorder = Recorder(refuse="bad")
    batcher = Batcher(recorder.write, key=lambda item: item)
    answers = await asyncio.gather(
        *(batcher.submit(item) for item in ("a", "bad", "c")), return_exceptions=True
    )
    assert answers[0] == "A" and answers[2] == "C"
    assert isinstance(answers[1], ValueError)
    assert recorder.batches[0] == ["a", "bad", "c"]  # tried together, then one by one
    assert sorted(recorder.batches[1:]) == [["a"], ["bad"], ["c"]]


async def test_a_busy_database_fails_the_whole_batch_at_once() -> None:
    class Busy(Exception):
        pass

    writes: list[list[str]] = []

    async def write(items: list[str]) -> list[str]:
        writes.append(list(items))
        raise Busy("database is locked")

    batcher = Batcher(write, key=lambda item: item, fails_alone=lambda e: not isinstance(e, Busy))
    answers = await asyncio.gather(
        *(batcher.submit(item) for item in ("a", "b", "c")), return_exceptions=True
    )
    assert all(isinstance(answer, Busy) for answer in answers)
    assert writes == [["a", "b", "c"]]  # not tried again one by one, each meeting the lock


async def test_a_write_whose_caller_gave_up_is_not_made_unless_kept() -> None:
    for keep, written in ((False, [["first"], ["kept"]]), (True, [["first"], ["gone", "kept"]])):
        held = asyncio.Event()
        recorder = Recorder(held=held)
        batcher = Batcher(recorder.write, key=lambda item: item, keep_abandoned=keep)
        first = asyncio.ensure_future(batcher.submit("first"))
        await asyncio.sleep(0.05)  # the first batch is being written
        gone = asyncio.ensure_future(batcher.submit("gone"))
        kept = asyncio.ensure_future(batcher.submit("kept"))
        await asyncio.sleep(0)
        gone.cancel()  # its activity timed out while it queued
        held.set()
        assert await first == "FIRST" and await kept == "KEPT"
        assert recorder.batches == written


async def test_a_burst_claims_in_one_transaction_and_a_stopped_fire_claims_nothing(
    settings: Settings, db: Database
) -> None:
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    targets = [(await make_post(db, tenant, page, body=f"burst {i}"))[1] for i in range(30)]
    ids = [t.id for t in targets]
    async with db.session() as session:
        await session.exec(
            update(Target).where(col(Target.id).in_(ids)).values(status=TargetStatus.SCHEDULED)
        )
        await session.commit()
    fires = {target_id: str(uuid.uuid4()) for target_id in ids}
    stopped = set(ids[:5])  # cancelled while their publishes waited
    stops = FireStops(db)
    assert all(
        await asyncio.gather(
            *(stops.stop(StopFireRequest(target_id=t, fire_id=fires[t])) for t in stopped)
        )
    )

    ledger = Ledger(db)
    content = PostContent(text="burst")
    opened = await asyncio.gather(
        *(ledger.open(t, content, budget=timedelta(seconds=30), fire_id=fires[t]) for t in ids)
    )

    claimed = {t for t, attempt in zip(ids, opened, strict=True) if attempt is not None}
    assert claimed == set(ids) - stopped
    async with db.session() as session:
        rows = (await session.exec(select(Target).where(col(Target.id).in_(ids)))).all()
        attempts = (
            await session.exec(select(Attempt).where(col(Attempt.target_id).in_(ids)))
        ).all()
        posts = (
            await session.exec(select(Post).where(col(Post.id).in_([r.post_id for r in rows])))
        ).all()
    status = {r.id: r.status for r in rows}
    assert {t for t, s in status.items() if s == TargetStatus.PUBLISHING} == claimed
    assert {t for t, s in status.items() if s == TargetStatus.SCHEDULED} == stopped
    assert sorted(a.target_id for a in attempts) == sorted(claimed)
    assert {(a.number, a.outcome) for a in attempts} == {(1, AttemptOutcome.SENT)}
    post_status = {p.id: p.status for p in posts}
    assert all((post_status[r.post_id] == "publishing") == (r.id in claimed) for r in rows)
    # A fire, once stopped, stays stopped however often it tries.
    again = await ledger.open(ids[0], content, budget=timedelta(seconds=30), fire_id=fires[ids[0]])
    assert again is None


@pytest.mark.parametrize("found", [False, True])
async def test_successes_recorded_together_each_tell_the_tenant_once(
    settings: Settings, db: Database, found: bool
) -> None:
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    targets = [(await make_post(db, tenant, page, body=f"ok {i}"))[1] for i in range(12)]
    ledger = Ledger(db)
    content = PostContent(text="ok")
    opened = await asyncio.gather(
        *(ledger.open(t.id, content, budget=timedelta(seconds=30)) for t in targets)
    )
    await asyncio.gather(
        *(
            ledger.succeeded(
                t.id,
                attempt.id,
                Published(external_id=f"555_{i}", url=f"https://facebook.com/555_{i}"),
                status=TargetStatus.PUBLISHED,
                delivered_by="direct",
                found=found,
            )
            for i, (t, attempt) in enumerate(zip(targets, opened, strict=True))
            if attempt is not None
        )
    )
    async with db.session() as session:
        rows = (
            await session.exec(select(Target).where(col(Target.id).in_([t.id for t in targets])))
        ).all()
        events = (
            await session.exec(select(Event).where(Event.tenant_id == tenant.tenant_id))
        ).all()
        attempts = (
            await session.exec(
                select(Attempt).where(col(Attempt.target_id).in_([t.id for t in targets]))
            )
        ).all()
    assert {r.status for r in rows} == {TargetStatus.PUBLISHED}
    assert sorted(r.external_id or "" for r in rows) == sorted(f"555_{i}" for i in range(12))
    assert {a.outcome for a in attempts} == {
        AttemptOutcome.FOUND if found else AttemptOutcome.CONFIRMED
    }
    published = [e for e in events if e.type == "social.post_published"]
    assert sorted(e.data["target_id"] for e in published) == sorted(t.id for t in targets)


async def test_two_tries_that_saw_the_same_count_open_one_attempt_between_them(
    settings: Settings, db: Database
) -> None:
    """A try Temporal started again while the first still ran: both looked, saw no attempt,
    and both would send. Opening is a compare-and-set on the count they saw, so the second
    gets nothing to send with, whether it arrives in the same moment or after."""
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    targets = [(await make_post(db, tenant, page, body=f"race {i}"))[1] for i in range(3)]
    ledger = Ledger(db)
    content = PostContent(text="race")
    budget = timedelta(seconds=30)
    # Together: the batcher keeps two openings of one target apart, and the second fails.
    together = await asyncio.gather(
        *(ledger.open(t.id, content, budget=budget, after=0) for t in targets),
        ledger.open(targets[0].id, content, budget=budget, after=0),
    )
    assert [a is not None for a in together] == [True, True, True, False]
    # After: a try that saw one attempt opens the second; one that saw none still cannot.
    assert await ledger.open(targets[1].id, content, budget=budget, after=0) is None
    second = await ledger.open(targets[1].id, content, budget=budget, after=1)
    assert second is not None and second.number == 2
    async with db.session() as session:
        counts = (
            await session.exec(
                select(Attempt.target_id).where(col(Attempt.target_id).in_([t.id for t in targets]))
            )
        ).all()
    assert sorted(counts) == sorted([targets[0].id, targets[1].id, targets[1].id, targets[2].id])


async def test_a_try_that_read_the_target_before_a_success_opens_nothing(
    settings: Settings, db: Database
) -> None:
    """The duplicate a congested chaos run found: a second try read the target while the
    first try's success was still being written; by the time it looked, the attempt was
    confirmed (nothing left to look up), and the count it saw had not moved. A settled target
    opens no attempt, whatever count the try saw."""
    tenant = await make_tenant(db)
    page = await make_facebook_page(db, settings, tenant)
    _, target = await make_post(db, tenant, page, body="once")
    ledger = Ledger(db)
    content = PostContent(text="once")
    first = await ledger.open(target.id, content, budget=timedelta(seconds=30), after=0)
    assert first is not None
    stale_count = 1  # what the second try read, before the success below
    await ledger.succeeded(
        target.id,
        first.id,
        Published(external_id="555_1", url="https://facebook.com/555_1"),
        status=TargetStatus.PUBLISHED,
        delivered_by="direct",
    )
    assert (
        await ledger.open(target.id, content, budget=timedelta(seconds=30), after=stale_count)
        is None
    )
