"""Per-account publishing budgets: a due target that would exceed one waits, durably, for the
window instead of failing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from activities.budgets import BudgetActivities
from api.services.scheduling import TargetHandle
from core.messages.delivery import PublishBudget, SlotRequest
from core.models import Account
from core.status import Platform
from core.status import TargetStatus as S
from providers.facebook import FacebookProvider
from tests.support.deliveries import start_delivery
from tests.support.factories import TenantFixture, make_account, make_post, make_tenant
from tests.support.harness import Harness
from workflows.publish_target import PublishTargetWorkflow as W

PAGE = "200000000000009"


@pytest.fixture
def three_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small budget keeps the test short. The sandbox's own quotas run on the wall clock and
    # cannot follow time skipping, so this tests crier's side: it must not even ask.
    small = (PublishBudget(limit=3, window=timedelta(minutes=1)),)
    monkeypatch.setattr(FacebookProvider, "rules", replace(FacebookProvider.rules, budgets=small))


async def publish_now(
    harness: Harness, tenant: TenantFixture, account: Account, count: int
) -> list[TargetHandle]:
    handles: list[TargetHandle] = []
    for n in range(count):
        post, target = await make_post(harness.db, tenant, account, body=f"Post {n}")
        handles.append(
            await start_delivery(
                harness.db, harness.env.client, harness.settings, post, target, due=None
            )
        )
    return handles


@pytest.mark.usefixtures("three_a_minute")
async def test_the_fourth_post_in_a_minute_waits_for_the_window(harness: Harness) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(harness.db, harness.settings, tenant, Platform.FACEBOOK, PAGE)
    handles = await publish_now(harness, tenant, account, 4)

    finals = [await handle.result() for handle in handles]

    assert [f.status for f in finals] == [S.PUBLISHED] * 4
    assert all(f.transitions == [S.SCHEDULED, S.PUBLISHING, S.PUBLISHED] for f in finals)
    starts = sorted(f.publish_started_at for f in finals if f.publish_started_at)
    assert starts[3] - starts[0] >= timedelta(minutes=1) - timedelta(seconds=1)
    assert starts[2] - starts[0] < timedelta(seconds=30)
    assert len(await harness.posts()) == 4
    last = max(range(4), key=lambda i: finals[i].publish_started_at or starts[0])
    await harness.keep_history(handles[last], "waited_for_publish_budget")


@pytest.mark.usefixtures("three_a_minute")
async def test_a_target_waiting_for_budget_can_still_be_cancelled(harness: Harness) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(harness.db, harness.settings, tenant, Platform.FACEBOOK, PAGE)
    handles = await publish_now(harness, tenant, account, 4)

    held: TargetHandle | None = None
    for _ in range(100):  # without letting time pass, find the one the budget holds back
        for handle in handles:
            if (await handle.query(W.status)).waiting_for_budget_until is not None:
                held = handle
        if held is not None:
            break
        await asyncio.sleep(0.05)
    assert held is not None, "one target should be waiting for the budget"
    assert (await held.query(W.status)).status == S.SCHEDULED

    assert (await held.execute_update(W.cancel)).status == S.CANCELLED
    assert (await held.result()).transitions == [S.SCHEDULED, S.CANCELLED]
    assert len(await harness.posts()) == 3


async def test_targets_racing_for_the_last_slot_get_one(harness: Harness) -> None:
    tenant = await make_tenant(harness.db)
    account = await make_account(harness.db, harness.settings, tenant, Platform.X, "42")
    targets = [(await make_post(harness.db, tenant, account, body=f"t{n}"))[1] for n in range(6)]
    budgets = [PublishBudget(limit=1, window=timedelta(hours=1))]
    activities = BudgetActivities(db=harness.db)
    at = datetime.now(UTC)

    decisions = await asyncio.gather(
        *(
            activities.reserve_publish_slot(SlotRequest(target_id=t.id, budgets=budgets, at=at))
            for t in targets
        )
    )

    granted = [d for d in decisions if d.wait is None]
    assert len(granted) == 1
    assert [d.wait for d in decisions if d.wait] == [timedelta(hours=1)] * 5
    # Asking again for the target that got the slot (an activity retry) keeps it.
    winner = targets[decisions.index(granted[0])]
    again = await activities.reserve_publish_slot(
        SlotRequest(target_id=winner.id, budgets=budgets, at=at + timedelta(minutes=5))
    )
    assert again.wait is None
