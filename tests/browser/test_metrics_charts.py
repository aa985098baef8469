"""The metrics' charts in a real browser (issue 23), with JavaScript off as the pages' CSP
has it: a published post's page draws its Facebook readings, its account link leads to the
account page, which draws 28 days of insights. Each chart is on screen with a size of its own
once scrolled to, and named by its numbers. The pictures go to docs/screenshots
(metrics-post.png, metrics-account.png) when CRIER_DOC_SCREENSHOTS is set, else to
tests/artifacts/screenshots."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from core.db import utcnow
from tests.browser.conftest import Site
from tests.support.browser_steps import SCREENSHOTS, VIEWPORT, submit
from tests.support.factories import make_facebook_page
from tests.test_metrics_pages_http import insights, live_post

pytestmark = pytest.mark.e2e

READINGS = {
    "1h": {"impressions": 240, "reach": 180, "likes": 12, "comments": 3, "shares": 1, "clicks": 9},
    "24h": {
        "impressions": 2150,
        "reach": 1630,
        "likes": 64,
        "comments": 11,
        "shares": 6,
        "clicks": 31,
    },
    # Clicks missing from the 7 d answer: drawn as "not read", never as zero.
    "7d": {"impressions": 3920, "reach": 2875, "likes": 97, "comments": 18, "shares": 9},
}

WEEKLY = (180, 260, 310, 240, 150, -60, -120)  # Monday first


async def on_screen(page: Page, chart: Locator) -> None:
    """Scrolled to, the chart has a size and lies wholly inside the window."""
    await chart.scroll_into_view_if_needed()
    await expect(chart).to_be_visible()
    await expect(chart).to_be_in_viewport(ratio=1)
    box = await chart.bounding_box()
    window = page.viewport_size
    assert box is not None and window is not None
    assert box["width"] > 100 and box["height"] > 40, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= window["width"], (box, window)
    assert box["y"] >= 0 and box["y"] + box["height"] <= window["height"], (box, window)


async def shoot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def test_the_post_and_account_pages_show_their_charts(browser: Browser, site: Site) -> None:
    account = await make_facebook_page(site.db, site.settings, site.tenant)
    post, _ = await live_post(site.db, site.tenant, account, **READINGS)
    last = utcnow().date() - timedelta(days=1)
    # A page that grows slowly, busier midweek (WEEKLY by weekday), as a real Page does.
    days = {}
    for n in range(28):
        day = last - timedelta(days=n)
        busy = WEEKLY[day.weekday()]
        days[day] = {
            "followers": 5200 - 9 * n,
            "impressions": 1500 + 12 * (27 - n) + busy,
            "reach": 1100 + 8 * (27 - n) + busy * 3 // 4,
            "engagements": 80 + busy // 6,
            "profile_views": 30 + busy // 15,
        }
    await insights(site.db, site.tenant, account, days)

    context = await browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
    page = await context.new_page()
    try:
        await page.goto(f"{site.url}/ui/sign-in?next=/ui/posts/{post.id}")
        await page.get_by_label("API key").fill(site.tenant.api_key)
        await submit(page, page.get_by_role("button", name="Sign in"))
        await expect(page).to_have_url(f"{site.url}/ui/posts/{post.id}")

        metrics = page.get_by_role("region", name=re.compile("^Metrics on Facebook"))
        await expect(metrics).to_have_count(1)
        charts = metrics.get_by_role("img")
        await expect(charts).to_have_count(6)
        impressions = metrics.get_by_role(
            "img", name="Impressions after publishing: 1 h 240, 24 h 2,150, 7 d 3,920"
        )
        await on_screen(page, impressions)
        await expect(
            metrics.get_by_role("img", name=re.compile("^Clicks after"))
        ).to_have_attribute("aria-label", "Clicks after publishing: 1 h 9, 24 h 31, 7 d not read")
        for index in range(await charts.count()):
            await on_screen(page, charts.nth(index))
        # The numbers, for anyone who cannot read the picture.
        numbers = metrics.locator("figure[data-metric=likes] details")
        await numbers.get_by_text("Numbers").click()
        await expect(numbers.get_by_role("cell")).to_have_text(
            ["1 h", "12", "24 h", "64", "7 d", "97"]
        )
        await shoot(page, "metrics-post")

        await submit(page, metrics.get_by_role("link", name=account.display_name))
        await expect(page).to_have_url(f"{site.url}/ui/accounts/{account.id}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(account.display_name)
        region = page.get_by_role("region", name=re.compile("^Insights"))
        lines = region.get_by_role("img")
        await expect(lines).to_have_count(5)
        first = last - timedelta(days=27)
        followers = region.get_by_role("img", name=re.compile("^Followers"))
        await expect(followers).to_have_attribute(
            "aria-label",
            f"Followers, {first.isoformat()} to {last.isoformat()}: 28 days read, "
            f"4,957 on {first.isoformat()}, 5,200 on {last.isoformat()}; "
            "lowest 4,957, highest 5,200",
        )
        for index in range(await lines.count()):
            await on_screen(page, lines.nth(index))
        await shoot(page, "metrics-account")
    finally:
        await context.close()
