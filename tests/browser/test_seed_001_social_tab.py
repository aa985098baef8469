"""Seed 001 (FlippingKoin's social publishing) in a real browser, on `make dev`'s stack.

One person, signed in with the demo key, walks the seed's seven steps on the Social tab's pages:
checks the plan (and sees the upgrade prompt when the operator moves the tenant to a plan
without publishing), connects Facebook, LinkedIn and Instagram to a new project through their
OAuth pages, schedules one post to all three (Facebook as a draft, LinkedIn with a more formal
caption) at a time in India's zone, watches the dots turn green and purple, opens the History,
retries a post the platform refused, cancels one, and reconnects LinkedIn once the token-health
check has found its token revoked. Each page is saved to docs/screenshots/seed-001-*.png.

One test walks it all: `crier dev` takes seconds to start and CI has few to spare.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from core.config import Settings
from core.status import Platform
from tests.support.browser_steps import (
    VIEWPORT,
    due_at_least,
    has_class,
    id_in,
    move_tenant_to_plan,
    received,
    refuse_next,
    reload_until,
    revoke_at_platform,
    run_token_health,
    shoot,
    stack_settings,
    submit,
    wall_time,
)
from tests.support.databases import fresh_database
from tests.support.devstack import DevStack, StackPorts, dev_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

KEY = "sk_test_seed001"
SEED = "001"
ZONE = "Asia/Kolkata"  # the seed's business is in India
# What each platform's sandbox login grants and the person picks: the bakery's Page, its
# Instagram business account (the only one the login grants: saved without a choice) and its
# LinkedIn Company Page.
FACEBOOK_PAGE = ("100000000000011", "Sandbox Bakery")
INSTAGRAM_ACCOUNT = ("17841400000000011", "sandbox_bakery")
LINKEDIN_PAGE = ("urn:li:organization:101", "Sandbox Bakery")
BODY = "Fresh sourdough is out of the oven! Come by before noon."
FORMAL = "Sandbox Bakery is pleased to announce that our sourdough is now baked fresh daily."
# Instagram's answer to a photo it will not take: a 400 no retry can change.
ASPECT_RATIO = {
    "message": "The aspect ratio is not supported.",
    "type": "OAuthException",
    "code": 36003,
    "error_subcode": 2207009,
    "fbtrace_id": "Seed001",
}
LEAD = timedelta(seconds=10)  # how far ahead the post is scheduled, at least


@dataclass
class Walk:
    stack: DevStack
    settings: Settings
    page: Page
    project_id: str = ""

    @property
    def social(self) -> str:
        return f"{self.stack.api}/ui/projects/{self.project_id}/social"

    def card(self, platform: str) -> Locator:
        return self.page.locator(f"[data-card={platform}]")

    async def account_id(self, platform: str) -> str:
        """The id of the project's account on `platform`, as the API lists it."""
        accounts = await self.api("GET", "/v1/accounts", params={"project_id": self.project_id})
        [found] = [
            a for a in accounts if a["platform"] == platform and a["project_id"] == self.project_id
        ]
        return str(found["id"])

    async def targets(self, post_id: str) -> dict[str, str]:
        """platform → target id of a post."""
        targets = await self.api("GET", f"/v1/posts/{post_id}/targets")
        return {t["platform"]: t["id"] for t in targets}

    async def api(self, method: str, path: str, **kwargs: Any) -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=self.stack.api, timeout=10) as client:
            answer = await client.request(
                method, path, headers={"Authorization": f"Bearer {KEY}"}, **kwargs
            )
        assert answer.status_code == 200, answer.text
        data: list[dict[str, Any]] = answer.json()["data"]
        return data


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[DevStack, Settings]]:
    ports = StackPorts.free()
    # `crier dev` names its own API port as the public URL (OAuth callbacks come back there).
    with (
        fresh_database() as database_url,
        dev_stack(tmp_path / ".crier", ports, key=KEY, database_url=database_url) as up,
    ):
        yield up, stack_settings(up, database_url)


async def test_seed_001_walks_the_social_tab(
    browser: Browser, stack: tuple[DevStack, Settings]
) -> None:
    running, settings = stack
    context = await browser.new_context(viewport=VIEWPORT)
    walk = Walk(running, settings, await context.new_page())
    started = time.monotonic()

    def lap(step: str) -> None:
        # Printed (pytest -s) so a slow CI run shows which step took the time.
        print(f"\nseed 001 {step}: {time.monotonic() - started:.1f} s in")

    try:
        await step_1_check_the_plan(walk)
        lap("step 1")
        await step_2_connect_accounts(walk)
        lap("step 2")
        refused = await a_post_instagram_refuses(walk)
        lap("a refused post")
        post_id = await steps_3_to_5_schedule(walk)
        lap("steps 3-5")
        await step_6_watch_it_publish(walk, post_id, refused)
        lap("step 6")
        await step_7_reconnect(walk)
        lap("step 7")
    finally:
        await context.close()


async def step_1_check_the_plan(walk: Walk) -> None:
    page, api = walk.page, walk.stack.api
    await page.goto(f"{api}/ui/sign-in?next=/ui/projects")
    await page.get_by_label("API key").fill(KEY)
    await shoot(page, SEED, "1-sign-in")
    await submit(page, page.get_by_role("button", name="Sign in"))
    await page.goto(f"{api}/ui/projects")
    new_project = page.locator("#new-project")
    await new_project.locator("[name=name]").fill("Acme")
    await shoot(page, SEED, "1-projects")
    await submit(page, new_project.get_by_role("button", name="Create project"))
    await page.wait_for_url(re.compile(r"/ui/projects/[^/]+/social"))
    walk.project_id = id_in(page.url, "projects")

    # The demo tenant's plan publishes.
    await expect(page.locator("#plan")).to_contain_text("Publishing")
    await expect(page.locator("#upgrade")).to_have_count(0)
    # On a plan without publishing, the tab and the schedule form say what would allow it.
    await move_tenant_to_plan(walk.settings, walk.project_id, "free")
    await page.reload()
    await expect(page.locator("#plan")).to_contain_text("Free")
    upgrade = page.locator("#upgrade")
    await expect(upgrade).to_contain_text("does not allow social publishing")
    await expect(upgrade).to_contain_text("a plan that allows it (publishing)")
    await shoot(page, SEED, "1-upgrade-prompt")
    await page.goto(f"{walk.social.removesuffix('/social')}/schedule")
    await expect(page.locator("#upgrade")).to_be_visible()
    await expect(page.get_by_role("button", name="Schedule")).to_be_disabled()
    await move_tenant_to_plan(walk.settings, walk.project_id, "publishing")
    await page.goto(walk.social)
    await expect(page.locator("#upgrade")).to_have_count(0)


async def connect(walk: Walk, platform: str, account: tuple[str, str], *, chooses: bool) -> None:
    """Connect (or Reconnect) on the platform's card, through its OAuth pages, and back."""
    page, card = walk.page, walk.card(platform)
    button = "Connect" if await card.get_attribute("data-state") == "connect" else "Reconnect"
    # A page that moves on by itself (a meta refresh) to the platform's consent page; the
    # sandbox's stands for it and consents at once (sandbox/oauth.py), sending the browser back
    # through crier's callback to the Social tab, or to the choice of accounts.
    await submit(page, card.get_by_role("button", name=button, exact=True))
    if chooses:
        await page.wait_for_url(re.compile(r"/ui/projects/[^/]+/connections/"))
        await page.locator(f"input[name=external_ids][value='{account[0]}']").check()
        if platform == "facebook":
            await shoot(page, SEED, "2-choose-page")
        await submit(page, page.get_by_role("button", name="Add accounts"))
    await page.wait_for_url(re.compile(rf"{re.escape(walk.social)}$"))
    await expect(card).to_have_attribute("data-state", "active")
    await expect(card.locator("[data-account-name]")).to_have_text(account[1])
    await expect(card.locator("[data-avatar]")).to_be_visible()


async def step_2_connect_accounts(walk: Walk) -> None:
    for platform in ("facebook", "linkedin", "instagram"):
        await expect(walk.card(platform)).to_have_attribute("data-state", "connect")
    await connect(walk, "facebook", FACEBOOK_PAGE, chooses=True)
    await connect(walk, "linkedin", LINKEDIN_PAGE, chooses=True)
    await connect(walk, "instagram", INSTAGRAM_ACCOUNT, chooses=False)
    await shoot(walk.page, SEED, "2-active-cards")


async def schedule(
    walk: Walk,
    body: str,
    modes: dict[str, str],
    *,
    when: str = "",
    overrides: dict[str, str] | None = None,
    screenshot: str = "",
) -> str:
    """Fill the schedule form (platform → publish/draft), preview, schedule; the post's id."""
    page = walk.page
    await page.goto(walk.social)
    await page.locator("#schedule-link").click()
    form = page.locator("#schedule")
    await form.locator("[name=body]").fill(body)
    image = f"{walk.stack.sandbox}/samples/image/1080x1080.jpg"
    await form.locator("[name=media_urls]").fill(image)
    await form.locator("[name=when]").fill(when)
    await form.locator("[name=timezone]").select_option(ZONE)
    ids = {platform: await walk.account_id(platform) for platform in modes}
    for platform, mode in modes.items():
        await form.locator(f"input[name=account][value='{ids[platform]}']").check()
        await form.locator(f"[name=mode_{ids[platform]}]").select_option(mode)
    for platform, text in (overrides or {}).items():
        override = form.locator(f"[data-override='{ids[platform]}']")
        await override.locator("summary").click()  # "Override caption / media"
        await override.locator(f"[name=override_body_{ids[platform]}]").fill(text)
    await submit(page, form.get_by_role("button", name="Preview"))
    preview = page.locator("#preview")
    for platform in modes:
        expected = (overrides or {}).get(platform, body)
        await expect(preview.locator(f"[data-preview='{ids[platform]}']")).to_contain_text(expected)
    await expect(page.locator(".problem")).to_have_count(0)
    if screenshot:
        await shoot(page, SEED, screenshot)
    await submit(page, page.locator("#schedule").get_by_role("button", name="Schedule"))
    await expect(page).to_have_url(walk.social)
    # The board names each post by the start of its text; the walk's texts differ there.
    post = page.locator("#board [data-post]").filter(has_text=body[:40])
    await expect(post).to_have_count(1)
    return await post.get_attribute("data-post") or ""


async def steps_3_to_5_schedule(walk: Walk) -> str:
    page = walk.page
    await page.goto(f"{walk.social.removesuffix('/social')}/schedule")
    # A time field that takes seconds lets the walk wait less for its post.
    step = await page.locator("#schedule [name=when]").get_attribute("step")
    seconds = step is not None and step != "60" and (step == "any" or float(step) < 60)
    due = due_at_least(LEAD, whole_minutes=not seconds)
    post_id = await schedule(
        walk,
        BODY,
        {"facebook": "draft", "linkedin": "publish", "instagram": "publish"},
        when=wall_time(due, ZONE, seconds=seconds),
        overrides={"linkedin": FORMAL},
        screenshot="5-schedule-preview",
    )
    targets = await walk.targets(post_id)
    # Grey until its time: scheduled (or, at the very moment, publishing).
    for target in targets.values():
        assert await has_class(page.locator(f"[data-target='{target}'] .dot"), "dot-pending")
    return post_id


async def a_post_instagram_refuses(walk: Walk) -> tuple[str, str]:
    """A post published now that Instagram refuses once: red, the error in the dot's title.
    Done before the seed's post is scheduled, so the one refusal cannot strike that one."""
    page = walk.page
    async with httpx.AsyncClient(base_url=walk.stack.sandbox, timeout=10) as sandbox:
        await refuse_next(sandbox, rf"/{INSTAGRAM_ACCOUNT[0]}/media_publish$", ASPECT_RATIO)
    post_id = await schedule(walk, "Flash sale: two loaves for one", {"instagram": "publish"})
    [target] = (await walk.targets(post_id)).values()
    red = page.locator(f"[data-target='{target}'] .dot")
    await reload_until(page, lambda: has_class(red, "dot-failed"), what="the refused post red")
    await expect(red).to_have_attribute("title", re.compile("aspect ratio"))
    return post_id, target


async def step_6_watch_it_publish(walk: Walk, post_id: str, refused: tuple[str, str]) -> None:
    page, sandbox_url = walk.page, walk.stack.sandbox
    refused_post, refused_target = refused
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as sandbox:
        # While the seed's post waits for its time: one for tomorrow, to cancel.
        tomorrow = due_at_least(timedelta(days=1), whole_minutes=True)
        later_post = await schedule(
            walk,
            "Tomorrow's bake",
            {"facebook": "publish"},
            when=wall_time(tomorrow, ZONE, seconds=False),
        )

        targets = await walk.targets(post_id)
        rows = {p: page.locator(f"[data-target='{t}']") for p, t in targets.items()}

        async def published() -> bool:
            return (
                await has_class(rows["linkedin"].locator(".dot"), "dot-published")
                and await has_class(rows["instagram"].locator(".dot"), "dot-published")
                and await has_class(rows["facebook"].locator(".dot"), "dot-drafted")
            )

        # Within a minute of its time (the lead, up to a minute's rounding, then the publish).
        await reload_until(
            page, published, what="LinkedIn and Instagram green, Facebook purple", within=150
        )
        await shoot(page, SEED, "6-board")

        # The platforms received the post: LinkedIn its formal caption, Facebook a draft.
        for platform, text, live in (
            ("linkedin", FORMAL, True),
            ("instagram", BODY, True),
            ("facebook", BODY, False),
        ):
            [sent] = [p for p in await received(sandbox, platform) if p["text"] == text]
            assert sent["published"] is live, sent
            if live:
                link = rows[platform].locator("[data-platform-link]")
                await expect(link).to_have_attribute("href", sent["url"])

        # History: each target's attempts, with what its platform answered.
        await submit(page, page.locator(f"[data-history][href*='{post_id}']"))
        for platform, target in targets.items():
            section = page.locator(f"#history [data-history-target='{target}']")
            await expect(section).to_have_attribute(
                "data-status", "drafted" if platform == "facebook" else "published"
            )
            await expect(section.locator("[data-attempt][data-outcome=confirmed]")).to_have_count(1)
        await shoot(page, SEED, "6-history")

        # The refused one: its attempt names Instagram's answer; Retry, the cause gone (the
        # fault struck once), turns it green.
        await page.goto(f"{walk.stack.api}/ui/posts/{refused_post}/history")
        answer = page.locator(f"[data-history-target='{refused_target}'] [data-attempt]")
        await expect(answer.filter(has_text="aspect ratio")).to_have_count(1)
        await shoot(page, SEED, "6-history-failed")
        await submit(page, page.locator(f"[data-retry='{refused_target}']"))
        await page.goto(walk.social)
        green = page.locator(f"[data-target='{refused_target}'] .dot")
        await reload_until(page, lambda: has_class(green, "dot-published"), what="the retry green")

        # Tomorrow's: cancelled from its History.
        await page.goto(f"{walk.stack.api}/ui/posts/{later_post}/history")
        await submit(page, page.locator("#cancel"))
        [later] = (await walk.targets(later_post)).values()
        await page.goto(walk.social)
        await expect(page.locator(f"[data-target='{later}']")).to_have_attribute(
            "data-status", "cancelled"
        )
        assert [p for p in await received(sandbox, "facebook") if "Tomorrow" in p["text"]] == []


async def step_7_reconnect(walk: Walk) -> None:
    page = walk.page
    await revoke_at_platform(walk.settings, walk.project_id, Platform.LINKEDIN)
    await run_token_health(walk.stack, walk.settings)
    linkedin = walk.card("linkedin")

    async def expired() -> bool:
        return await linkedin.get_attribute("data-state") == "expired"

    await reload_until(page, expired, what="the LinkedIn card Expired", within=60)
    await expect(linkedin).to_contain_text("no longer works")
    await expect(linkedin.get_by_role("button", name="Reconnect")).to_be_visible()
    await shoot(page, SEED, "7-expired-card")
    # The others passed the check.
    for platform in ("facebook", "instagram"):
        await expect(walk.card(platform)).to_have_attribute("data-state", "active")
    await connect(walk, "linkedin", LINKEDIN_PAGE, chooses=True)
    await shoot(page, SEED, "7-reconnected")
