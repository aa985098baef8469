"""A reviewer in a real browser: opens the queue from a review link, approves, and watches the
post go out to the sandbox; rejects with a comment; reads the calendar. From the keyboard,
by labels, and with JavaScript off (every action is a plain form)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import Site
from tests.support.api import bearer

pytestmark = pytest.mark.e2e

LATER = "2031-06-10T09:00:00+00:00"


async def api(site: Site, method: str, path: str, **body: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        answer = await client.request(method, path, json=body, headers=bearer(site.tenant.api_key))
    assert answer.status_code < 300, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


async def waiting_post(site: Site, text: str, **publish: Any) -> dict[str, Any]:
    post = await api(
        site,
        "POST",
        "/v1/posts",
        body=text,
        requires_approval=True,
        targets=[{"account_id": site.account.id}],
    )
    await api(site, "POST", f"/v1/posts/{post['id']}/publish", **publish)
    return post


async def test_a_reviewer_approves_from_a_link_without_javascript_and_sees_it_published(
    browser: Browser, site: Site
) -> None:
    post = await waiting_post(site, "Launch day: doors open at nine. https://example.org/launch")
    link = await api(site, "POST", "/v1/review-links", reviewer="Ana", scope="queue")

    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(link["url"])
    # Opening the link only shows a button: nothing signs in until the reviewer presses it.
    await expect(page.get_by_role("heading", name="Review link for Ana")).to_be_visible()
    await page.get_by_role("button", name="Open the review").click()
    await expect(page).to_have_url(f"{site.url}/ui/queue")
    await expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    card = page.get_by_role("article")
    await expect(card).to_have_count(1)
    preview = card.get_by_role("region", name="x preview")
    await expect(preview).to_contain_text("Launch day: doors open at nine.")
    # X counts a link as 23 characters: 31 + 1 + 23.
    await expect(preview).to_contain_text("55 / 280 weighted characters")
    await expect(page.get_by_text("Signed in as Ana (review link)")).to_be_visible()
    await site.screenshot(context, "review_queue")

    await card.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_have_text("Approved.")
    await expect(page.get_by_text("Nothing is waiting for approval.")).to_be_visible()

    await page.goto(f"{site.url}/ui/posts/{post['id']}")
    row = page.get_by_role("row", name="X", exact=False).first
    # The page reloads itself (a meta refresh) while the target is in flight.
    await expect(page.get_by_role("heading", level=1)).to_contain_text("published", timeout=20_000)
    await expect(row).to_contain_text("published")
    await expect(page.get_by_role("link", name="View on X")).to_be_visible()
    await expect(page.get_by_text("by Ana (review link)")).to_be_visible()
    workflow = page.get_by_role("link", name="Open in Temporal")
    assert "/workflows/target-" in (await workflow.get_attribute("href") or "")
    await site.screenshot(context, "post_published")
    await context.close()

    received = (await site.sandbox.get("/_control/posts", params={"platform": "x"})).json()
    assert [p["text"] for p in received["data"]] == [
        "Launch day: doors open at nine. https://example.org/launch"
    ]


async def test_a_post_link_opens_its_post_only_and_is_used_up(browser: Browser, site: Site) -> None:
    post = await waiting_post(site, "Client A: spring sale", scheduled_for=LATER)
    other = await waiting_post(site, "Client B: unreleased campaign", scheduled_for=LATER)
    link = await api(
        site, "POST", "/v1/review-links", reviewer="Client A", post_id=post["id"], single_use=True
    )

    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(link["url"])
    await expect(page.get_by_text("This link opens one post")).to_be_visible()
    await page.get_by_role("button", name="Open the review").click()
    await expect(page).to_have_url(f"{site.url}/ui/posts/{post['id']}")
    await expect(page.get_by_text("Signed in as Client A (review link)")).to_be_visible()
    nav = page.get_by_role("navigation", name="Pages")
    await expect(nav.get_by_role("link")).to_have_text(["The post to review"])

    for elsewhere in ("/ui/queue", "/ui/calendar", f"/ui/posts/{other['id']}"):
        await page.goto(f"{site.url}{elsewhere}")
        await expect(
            page.get_by_role("heading", name="This review link is for one post")
        ).to_be_visible()
        await expect(page.get_by_text("Client B")).to_have_count(0)
    await page.get_by_role("link", name="Back to the post to review").click()
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("status")).to_have_text("Approved.")
    await expect(page.get_by_text("by Client A (review link)")).to_be_visible()
    await site.screenshot(context, "post_link_approved")

    # Used once: a second browser (a forwarded mail) gets nothing.
    second = await browser.new_context()
    other_page = await second.new_page()
    await other_page.goto(link["url"])
    await expect(other_page.get_by_role("alert")).to_contain_text("already used")
    await second.close()

    # Signing out ends the session on the server: the copied cookie opens nothing.
    cookies = await context.cookies()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in to review")).to_be_visible()
    thief = await browser.new_context()
    await thief.add_cookies(cookies)  # type: ignore[arg-type]
    stolen = await thief.new_page()
    await stolen.goto(f"{site.url}/ui/posts/{post['id']}")
    await expect(stolen.get_by_role("heading", name="Sign in to review")).to_be_visible()
    await thief.close()
    await context.close()


async def test_a_reviewer_signs_in_with_a_key_and_rejects_from_the_keyboard(
    browser: Browser, site: Site
) -> None:
    post = await waiting_post(site, "50% off everything", scheduled_for=LATER)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{site.url}/ui/queue")
    await expect(page).to_have_url(f"{site.url}/ui/sign-in?next=/ui/queue")

    await page.get_by_label("API key").fill(site.tenant.api_key)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Review queue")).to_be_visible()

    reason = page.get_by_label("Reason for rejecting")
    await reason.focus()
    await page.keyboard.type("Wrong price: it is 40%")
    await page.keyboard.press("Tab")  # to the Reject button
    focused = await page.evaluate("document.activeElement.textContent")
    assert focused == "Reject"
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("Rejected.")

    await page.goto(f"{site.url}/ui/posts/{post['id']}")
    await expect(page.locator(".review-comment")).to_have_text("Wrong price: it is 40%")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("rejected")
    await expect(page.locator(".last-error")).to_contain_text("Wrong price: it is 40%")
    await site.screenshot(context, "post_rejected")
    await context.close()
    assert (await site.sandbox.get("/_control/posts")).json()["data"] == []


async def test_the_calendar_shows_posts_by_day_and_filters_them(
    browser: Browser, site: Site
) -> None:
    await waiting_post(site, "On the calendar", scheduled_for=LATER)
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, site)
    await page.goto(f"{site.url}/ui/calendar?start=2031-06-08")
    day = page.get_by_role("region", name="Tuesday 10 June 2031")
    await expect(day).to_contain_text("09:00 On the calendar")
    await expect(day).to_contain_text("awaiting approval")
    await site.screenshot(context, "calendar")

    await page.get_by_label("Platform").select_option("facebook")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("region", name="Tuesday 10 June 2031")).not_to_contain_text(
        "On the calendar"
    )
    await page.get_by_label("Platform").select_option("x")
    await page.get_by_label("Status").select_option("awaiting_approval")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_role("region", name="Tuesday 10 June 2031")).to_contain_text(
        "On the calendar"
    )
    await context.close()


async def test_an_operator_reschedules_and_cancels_from_the_post_page(
    browser: Browser, site: Site
) -> None:
    post = await waiting_post(site, "Moving target", scheduled_for=LATER)
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, site)
    await page.goto(f"{site.url}/ui/posts/{post['id']}")
    await page.get_by_label("New time").fill("2031-07-01T10:30")
    await page.get_by_label("Time zone").fill("Europe/Paris")
    await page.get_by_role("button", name="Reschedule").click()
    await expect(page.get_by_role("status")).to_have_text("Rescheduled.")
    await expect(page.get_by_role("table").first).to_contain_text("2031-07-01 08:30 UTC")

    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("status")).to_have_text("Cancelled.")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("cancelled")
    await site.screenshot(context, "post_cancelled")
    await context.close()


async def sign_in(page: Page, site: Site) -> None:
    await page.goto(f"{site.url}/ui/sign-in")
    await page.get_by_label("API key").fill(site.tenant.api_key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
