"""The metrics as pictures over plain HTTP (issue 23): the post page's Metrics section and the
account page draw the stored readings as inline SVG with their numbers stated, say what is not
collected yet, link to each other, and answer Not found outside the caller's tenant, mode and
projects. The readings are written as the metrics schedule writes them (PostMetric,
AccountInsight rows); the charts' own drawing is checked without the stack first."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import httpx
import pytest

from activities.metrics import OFFSETS
from api.ui.charts import bar_chart, line_chart
from api.ui.metrics_views import title_of
from core.config import Settings
from core.db import Database, utcnow
from core.models import Account, AccountInsight, Post, PostMetric, Project, Target
from core.status import Platform, TargetStatus
from providers.metrics.base import ACCOUNT_METRICS
from providers.metrics.registry import READERS
from tests.support.api_fixtures import api_fixture
from tests.support.factories import (
    TenantFixture,
    add_key,
    make_account,
    make_facebook_page,
    make_post,
    make_tenant,
)
from tests.test_review_links import issue
from tests.test_review_pages_http import open_link
from tests.test_social_pages_http import set_target, sign_in

api = api_fixture()

POST_READINGS = {
    "1h": {"impressions": 120, "reach": 95, "likes": 7},
    "24h": {"impressions": 1860, "reach": 1400, "likes": 31},
}


def labels(page: httpx.Response) -> list[str]:
    """What each chart says to a screen reader."""
    return [
        html.unescape(found)
        for found in re.findall(r'<svg [^>]*role="img" aria-label="([^"]*)"', page.text)
    ]


def section(page: httpx.Response, marker: str) -> str:
    """The page's text from `marker` to the end of its <section>."""
    start = page.text.index(marker)
    return page.text[start : page.text.index("</section>", start)]


# ---- the charts alone ---------------------------------------------------------------------


def test_a_bar_chart_states_its_numbers_and_escapes_its_words() -> None:
    svg = bar_chart('Likes <script>"', [("1 h", 3), ("24 h", 12_345), ("7 d", "not yet")])
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="')
    assert "<script>" not in svg and "&lt;script&gt;&#34;" in svg
    said = "Likes &lt;script&gt;&#34;: 1 h 3, 24 h 12,345, 7 d not yet"
    assert f'aria-label="{said}"' in svg and f"<title>{said}</title>" in svg
    assert svg.count("<rect ") == 2  # no bar for the reading not taken yet
    assert ">not yet</text>" in svg


def test_a_line_chart_labels_its_ends_and_range_and_leaves_gaps() -> None:
    first = date(2031, 3, 1)
    points = [(first, 10), (first + timedelta(days=1), 14), (first + timedelta(days=5), 12)]
    svg = line_chart("Followers", points, first, first + timedelta(days=27))
    assert (
        'aria-label="Followers, 2031-03-01 to 2031-03-28: 3 days read, 10 on 2031-03-01, '
        '12 on 2031-03-06; lowest 10, highest 14"'
    ) in svg
    for label in (">2031-03-01<", ">2031-03-28<", ">10<", ">14<"):
        assert label in svg
    # Days 3 to 5 have no reading: the line stops and starts again, never drawn as zero.
    path = re.search(r'<path d="([^"]+)"', svg)
    assert path is not None and path.group(1).count("M") == 2
    assert svg.count("<circle ") == 3
    empty = line_chart("Reach", [], first, first + timedelta(days=27))
    assert "no readings" in empty and "<path" not in empty


# ---- the pages ----------------------------------------------------------------------------


async def live_post(
    db: Database, tenant: TenantFixture, account: Account, **readings: dict[str, int]
) -> tuple[Post, Target]:
    """A post whose target went live eight days ago, with `readings` by offset label, each
    taken when due."""
    post, target = await make_post(db, tenant, account, body="Spring menu is out")
    published = utcnow() - timedelta(days=8)
    async with db.session() as session:
        row = await session.get(Post, post.id)
        assert row is not None
        row.status = "published"
        session.add(row)
        await session.commit()
    await set_target(
        db,
        target.id,
        status=TargetStatus.PUBLISHED,
        published_at=published,
        external_id=f"{account.external_id}_1",
    )
    async with db.session() as session:
        for offset, values in readings.items():
            session.add(
                PostMetric(
                    tenant_id=tenant.tenant_id,
                    is_test=True,
                    project_id=account.project_id,
                    post_id=post.id,
                    target_id=target.id,
                    account_id=account.id,
                    platform=account.platform,
                    offset_label=offset,
                    values=values,
                    collected_at=published + OFFSETS[offset],
                )
            )
        await session.commit()
    return post, target


async def insights(
    db: Database, tenant: TenantFixture, account: Account, days: dict[date, dict[str, int]]
) -> None:
    async with db.session() as session:
        for day, values in days.items():
            session.add(
                AccountInsight(
                    tenant_id=tenant.tenant_id,
                    is_test=True,
                    project_id=account.project_id,
                    account_id=account.id,
                    platform=account.platform,
                    day=day,
                    values=values,
                )
            )
        await session.commit()


async def test_the_post_page_draws_each_live_targets_readings(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    page_account = await make_facebook_page(db, settings, tenant)
    post, target = await live_post(db, tenant, page_account, **POST_READINGS)
    await sign_in(api, tenant.api_key)

    page = await api.get(f"/ui/posts/{post.id}")
    assert page.status_code == 200, page.text
    assert 'id="metrics"' in page.text
    metrics = section(page, f'data-metrics-target="{target.id}"')
    assert f'href="/ui/accounts/{page_account.id}"' in metrics
    assert labels(page) == [
        "Impressions after publishing: 1 h 120, 24 h 1,860, 7 d not yet",
        "Reach after publishing: 1 h 95, 24 h 1,400, 7 d not yet",
        "Likes after publishing: 1 h 7, 24 h 31, 7 d not yet",
    ]
    # The latest reading beside each chart, and every number in a table for screen readers.
    latest = re.findall(
        r'data-metric="(\w+)">\s*<figcaption>[^<]*<span class="latest">· '
        r"<span data-latest>([^<]*)</span> at ([^<]*)</span>",
        metrics,
    )
    assert latest == [
        ("impressions", "1,860", "24 h"),
        ("reach", "1,400", "24 h"),
        ("likes", "31", "24 h"),
    ]
    assert "<tr><td>1 h</td><td>120</td></tr><tr><td>24 h</td><td>1,860</td></tr>" in metrics
    # What Facebook gives that was not read: said, not drawn as zero.
    missing = sorted(READERS[Platform.FACEBOOK].post_metrics - {"impressions", "reach", "likes"})
    words = re.search(r"data-not-yet>Not collected yet: ([^<]*)\.</p>", metrics)
    assert words is not None
    assert sorted(words.group(1).split(", ")) == sorted(title_of(m) for m in missing)
    # The Deliveries table links each target's account to its page too.
    assert f'<a data-account-link href="/ui/accounts/{page_account.id}">' in page.text


async def test_a_reading_without_a_metric_is_not_read_rather_than_zero(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_facebook_page(db, settings, tenant)
    readings = {"1h": {"impressions": 50, "likes": 5}, "24h": {"impressions": 80}}
    post, _ = await live_post(db, tenant, account, **readings)
    await sign_in(api, tenant.api_key)
    page = await api.get(f"/ui/posts/{post.id}")
    assert labels(page) == [
        "Impressions after publishing: 1 h 50, 24 h 80, 7 d not yet",
        "Likes after publishing: 1 h 5, 24 h not read, 7 d not yet",
    ]
    assert "<span data-latest>5</span> at 1 h</span>" in page.text


async def test_a_live_target_without_readings_says_not_collected_yet(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_facebook_page(db, settings, tenant)
    post, target = await live_post(db, tenant, account)
    draft, _ = await make_post(db, tenant, account, body="Not live")
    await sign_in(api, tenant.api_key)
    page = await api.get(f"/ui/posts/{post.id}")
    assert "Not collected yet: readings are taken 1 h, 24 h and 7 d" in section(
        page, f'data-metrics-target="{target.id}"'
    )
    assert labels(page) == []
    # Nothing live: no Metrics section at all.
    assert 'id="metrics"' not in (await api.get(f"/ui/posts/{draft.id}")).text
    # A platform crier reads no metrics from says so (when there is one left).
    without = next((p for p in Platform if p not in READERS), None)
    if without is not None:
        other = await make_account(db, settings, tenant, without, "1700000000000000009")
        elsewhere, other_target = await live_post(db, tenant, other)
        shown = await api.get(f"/ui/posts/{elsewhere.id}")
        assert "crier collects no metrics from" in section(
            shown, f'data-metrics-target="{other_target.id}"'
        )


async def test_the_account_page_draws_the_last_28_days(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_facebook_page(db, settings, tenant)
    last = utcnow().date() - timedelta(days=1)
    first = last - timedelta(days=27)
    days = {
        first + timedelta(days=n): {"followers": 1200 + 3 * n, "impressions": 400 + (n % 7) * 50}
        for n in range(28)
        if n not in (10, 11)  # two days the schedule missed
    }
    days[first - timedelta(days=1)] = {"followers": 1, "impressions": 999_999}  # too old
    await insights(db, tenant, account, days)
    await sign_in(api, tenant.api_key)

    tab = await api.get(f"/ui/projects/{account.project_id}/social")
    assert f'<a data-account-name href="/ui/accounts/{account.id}">' in tab.text
    page = await api.get(f"/ui/accounts/{account.id}")
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "<script" not in page.text
    assert f"<h1 data-account-name>{account.display_name}</h1>" in page.text
    assert "Facebook · <span data-account-status>Active</span>" in page.text
    window = f"{first.isoformat()} to {last.isoformat()}"
    followers_last = 1200 + 3 * 27
    assert labels(page) == [
        f"Followers, {window}: 26 days read, 1,200 on {first.isoformat()}, "
        f"{followers_last:,} on {last.isoformat()}; lowest 1,200, highest {followers_last:,}",
        f"Impressions, {window}: 26 days read, 400 on {first.isoformat()}, "
        f"{400 + (27 % 7) * 50} on {last.isoformat()}; lowest 400, highest 700",
    ]
    assert f"<span data-latest>{followers_last:,}</span> on {last.isoformat()}</span>" in page.text
    assert "999,999" not in page.text  # the day before the window is not drawn
    followers = section(page, "data-insights")
    assert f"<tr><td>{first.isoformat()}</td><td>1,200</td></tr>" in followers
    assert f"<tr><td>{(first + timedelta(days=10)).isoformat()}</td>" not in followers
    not_read = sorted(READERS[Platform.FACEBOOK].account_metrics - {"followers", "impressions"})
    assert f"Not collected yet: {', '.join(title_of(m) for m in _in_order(not_read))}." in (
        followers
    )


def _in_order(names: list[str]) -> list[str]:
    return sorted(names, key=ACCOUNT_METRICS.index)


async def test_an_account_without_insights_says_so(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_facebook_page(db, settings, tenant)
    await sign_in(api, tenant.api_key)
    page = await api.get(f"/ui/accounts/{account.id}")
    assert page.status_code == 200 and labels(page) == []
    assert "Not collected yet: the insights are read once a day." in page.text
    without = next((p for p in Platform if p not in READERS), None)
    if without is not None:
        other = await make_account(db, settings, tenant, without, "1700000000000000010")
        shown = await api.get(f"/ui/accounts/{other.id}")
        assert shown.status_code == 200 and "crier collects no insights from" in shown.text


@pytest.mark.parametrize("intruder", ["another tenant", "other mode", "other project"])
async def test_no_one_else_opens_the_account_page_or_its_charts(
    api: httpx.AsyncClient, db: Database, settings: Settings, intruder: str
) -> None:
    owner = await make_tenant(db)
    account = await make_facebook_page(db, settings, owner)
    post, _ = await live_post(db, owner, account, **POST_READINGS)
    await insights(db, owner, account, {utcnow().date() - timedelta(days=2): {"followers": 4321}})
    if intruder == "another tenant":
        key = (await make_tenant(db)).api_key
    elif intruder == "other mode":
        key = (await add_key(db, owner, test=False)).api_key
    else:
        other = Project(tenant_id=owner.tenant_id, is_test=True, name="Other client")
        async with db.session() as session:
            session.add(other)
            await session.commit()
        key = (await add_key(db, owner, project_ids=(other.id,))).api_key
    assert (await sign_in(api, key)).status_code == 303
    for path in (f"/ui/accounts/{account.id}", f"/ui/posts/{post.id}"):
        page = await api.get(path)
        assert page.status_code == 404, (path, page.status_code)
        assert labels(page) == [] and "4,321" not in page.text and "1,860" not in page.text
        assert account.display_name not in page.text


async def test_signed_out_and_post_link_sessions_do_not_open_an_account(
    api: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await make_tenant(db)
    account = await make_facebook_page(db, settings, tenant)
    post, _ = await live_post(db, tenant, account, **POST_READINGS)
    signed_out = await api.get(f"/ui/accounts/{account.id}")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/ui/sign-in?next=/ui/accounts/{account.id}"
    # A post link opens its post, charts included, and nothing else: no link to the account.
    link = await issue(api, tenant.api_key, post_id=post.id)
    assert (await open_link(api, link["url"], settings)).status_code == 303
    page = await api.get(f"/ui/posts/{post.id}")
    assert page.status_code == 200 and len(labels(page)) == 3
    assert "/ui/accounts/" not in page.text
    elsewhere = await api.get(f"/ui/accounts/{account.id}")
    assert elsewhere.status_code == 403 and labels(elsewhere) == []
