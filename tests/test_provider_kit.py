"""The provider kit (providers/kit/): one error-table order, one pager, and media downloads
through the guarded fetcher mapped into the taxonomy, against real hosts on loopback."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import pytest

from core.guarded_fetch import GuardedFetcher
from providers.base import NotCheckable
from providers.errors import (
    AuthError,
    ContentError,
    RateLimitedError,
    TransientError,
)
from providers.kit.error_table import ErrorTable, Problem
from providers.kit.media import MediaDownloads
from providers.kit.pages import Page, walk
from tests.support.media import loopback_media, media_host

TABLE = ErrorTable(
    platform="p",
    read=lambda response: Problem(response.json().get("message"), response.json().get("code")),
    codes={"Expired": AuthError, "Slow": RateLimitedError},
    phrases={"duplicate": ContentError},
    statuses={404: TransientError},
)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (429, {}, RateLimitedError),
        (400, {"code": "Slow"}, RateLimitedError),  # a rate-limit code beats its status
        (503, {"code": "Expired"}, TransientError),  # any 5xx is transient
        (400, {"code": "Expired"}, AuthError),  # a code beats the status
        (403, {"message": "a duplicate post"}, ContentError),  # so does a phrase
        (404, {}, TransientError),  # the table's own status entry
        (401, {}, AuthError),
        (422, {}, ContentError),
    ],
)
def test_the_table_applies_in_one_order(
    status: int, body: dict[str, str], kind: type[Exception]
) -> None:
    error = TABLE.error(httpx.Response(status, json=body))
    assert type(error) is kind
    assert (error.platform, error.http_status) == ("p", status)


async def test_the_pager_stops_at_the_last_page_or_the_stop_and_refuses_past_the_cap() -> None:
    pages = {None: Page([1, 2], "b"), "b": Page([3], "c"), "c": Page([4], None)}

    async def read(cursor: str | None) -> Page[int]:
        return pages[cursor]

    assert [item async for item in walk(read, max_pages=3, beyond="-")] == [1, 2, 3, 4]

    def older(items: Sequence[int]) -> bool:
        return 3 in items

    assert [i async for i in walk(read, max_pages=3, beyond="-", stop=older)] == [1, 2, 3]
    with pytest.raises(NotCheckable, match="too many"):
        [item async for item in walk(read, max_pages=2, beyond="too many")]


async def test_media_failures_map_into_the_taxonomy_naming_the_host() -> None:
    files = {"/ok.png": (b"PNG", "image/png"), "/big.png": (b"x" * 100, "image/png")}
    media = loopback_media()
    async with media_host(files) as host:
        fetched = await media.fetch(f"{host}/ok.png", platform="x", max_bytes=10)
        assert (fetched.content, fetched.media_type()) == (b"PNG", "image/png")

        with pytest.raises(ContentError, match=r"127\.0\.0\.1: larger than 10 bytes"):
            await media.fetch(f"{host}/big.png", platform="x", max_bytes=10)
        with pytest.raises(ContentError, match=r"127\.0\.0\.1: HTTP 404"):
            await media.fetch(f"{host}/missing.png", platform="x", max_bytes=10)

        # Outside development a loopback host is refused: the target fails with the reason.
        production = MediaDownloads(GuardedFetcher(allow_private=False), deadline=5, ceiling=10)
        with pytest.raises(ContentError, match=r"media unusable: 127\.0\.0\.1: ") as refused:
            await production.fetch(f"{host}/ok.png", platform="x", max_bytes=None)
        assert refused.value.code == "media_unusable"

    # The host is gone: transient, and nothing reached the platform.
    with pytest.raises(TransientError) as unreachable:
        await media.fetch(f"{host}/ok.png", platform="x", max_bytes=10)
    assert unreachable.value.maybe_sent is False
