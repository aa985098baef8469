"""Pinterest after a lost answer: the board's pins, read back, say whether the pin went out.

Through the workflow (a pin whose answer is lost, a 5xx that made nothing, a board the token
may not read), then `find_published` against the sandbox's board pins list.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from core.status import Platform
from providers import pinterest
from providers.base import Credentials, NotCheckable, PostContent, Preparation
from providers.pinterest import PinterestProvider
from sandbox.tokens import issue_token
from tests.support import reconcile
from tests.support.harness import Harness
from tests.support.reconcile import a_minute_ago, a_minute_from_now
from tests.support.servers import RunningSandbox

BOARD = "549755885301"
PINS = r"^/pinterest/v5/pins$"
BOARD_PINS = rf"^/pinterest/v5/boards/{BOARD}/pins$"
IMAGE = "https://cdn.example.org/flat-white.jpg"
TEXT = "Flat white at home\nMilk at 60 degrees, no hotter."
PUBLISHING = reconcile.Publishing(Platform.PINTEREST, BOARD, PINS)
PIN: dict[str, Any] = {"body": TEXT, "media_urls": [IMAGE]}  # what the workflow tests pin


account = reconcile.account_fixture(Platform.PINTEREST, BOARD)
provider = reconcile.provider_fixture(PinterestProvider, "pinterest")


async def pin_lists(sandbox_http: httpx.AsyncClient) -> int:
    return await reconcile.calls(sandbox_http, BOARD_PINS, method="GET")


def image_pin(text: str = TEXT, **fields: object) -> PostContent:
    return PostContent(text=text, media_urls=[IMAGE], **fields)


# --- through the workflow ---------------------------------------------------------------------


async def test_a_pin_whose_answer_was_lost_is_found_on_the_board_not_pinned_twice(
    harness: Harness,
) -> None:
    await reconcile.lost_answer_is_found(harness, PUBLISHING, **PIN)


async def test_a_5xx_that_made_nothing_is_looked_up_then_pinned_once(harness: Harness) -> None:
    await reconcile.refusal_is_looked_for_then_posted_once(harness, PUBLISHING, **PIN)


async def test_a_board_the_token_may_not_read_leaves_the_pin_unconfirmed(
    harness: Harness,
) -> None:
    forbidden = {"code": 3, "message": "Not authorized to access board pins."}
    await harness.inject(method="GET", path=BOARD_PINS, status=403, body=forbidden, times=5)
    settled = await reconcile.lost_answer_ends_unconfirmed(
        harness, PUBLISHING, because="may have published", **PIN
    )

    assert "Not authorized to access board pins." in settled.error


# --- find_published ---------------------------------------------------------------------------


async def test_the_pin_is_found_by_title_description_and_time(
    provider: PinterestProvider, account: Credentials
) -> None:
    content = image_pin(link="https://crier.example/coffee")
    published = await provider.publish(account, content, Preparation())
    await provider.publish(account, image_pin("another pin"), Preparation())

    found = await provider.find_published(account, content, Preparation(), since=a_minute_ago())

    assert found == published


async def test_a_pin_with_other_words_or_made_before_the_attempt_is_not_it(
    provider: PinterestProvider, account: Credentials
) -> None:
    await provider.publish(account, image_pin(), Preparation())

    async def lookup(content: PostContent, since: datetime) -> object:
        return await provider.find_published(account, content, Preparation(), since=since)

    assert await lookup(image_pin(), a_minute_ago()) is not None
    assert await lookup(image_pin(TEXT + "!"), a_minute_ago()) is None
    assert await lookup(image_pin(title="Another title"), a_minute_ago()) is None
    later = a_minute_from_now()
    assert await lookup(image_pin(), later) is None


async def test_a_video_pin_is_not_an_image_pin_with_the_same_words(
    sandbox: RunningSandbox, provider: PinterestProvider, account: Credentials
) -> None:
    await provider.publish(account, image_pin(), Preparation())
    video = PostContent(text=TEXT, media_urls=[f"{sandbox.url}/pinterest/media/pour.mp4"])

    found = await provider.find_published(account, video, Preparation(), since=a_minute_ago())

    assert found is None


async def test_the_lookup_pages_back_until_it_passes_the_attempt(
    provider: PinterestProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pinterest, "LOOKUP_PAGE_SIZE", 2)
    wanted = await provider.publish(account, image_pin(), Preparation())
    for n in range(3):
        await provider.publish(account, image_pin(f"newer {n}"), Preparation())

    found = await provider.find_published(account, image_pin(), Preparation(), since=a_minute_ago())

    assert found == wanted
    assert await pin_lists(sandbox_http) == 2  # four pins, two a page, the wanted one last


async def test_a_page_reaching_back_past_the_attempt_ends_the_lookup(
    provider: PinterestProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pinterest, "LOOKUP_PAGE_SIZE", 1)
    for n in range(3):
        await provider.publish(account, image_pin(f"older {n}"), Preparation())

    later = a_minute_from_now()
    assert await provider.find_published(account, image_pin(), Preparation(), since=later) is None
    assert await pin_lists(sandbox_http) == 1


async def test_more_new_pins_than_it_reads_is_not_checkable(
    provider: PinterestProvider, account: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pinterest, "LOOKUP_PAGE_SIZE", 1)
    monkeypatch.setattr(pinterest, "LOOKUP_MAX_PAGES", 2)
    for n in range(3):
        await provider.publish(account, image_pin(f"newer {n}"), Preparation())

    with pytest.raises(NotCheckable, match="over 2 pins"):
        await provider.find_published(account, image_pin(), Preparation(), since=a_minute_ago())


async def test_the_sandbox_lists_only_the_tokens_own_boards(
    sandbox: RunningSandbox, sandbox_http: httpx.AsyncClient
) -> None:
    token = issue_token(sandbox.secret, "pinterest", BOARD)
    other = await sandbox_http.get(
        "/pinterest/v5/boards/549755885999/pins", headers={"Authorization": f"Bearer {token}"}
    )
    assert (other.status_code, other.json()["message"]) == (404, "Board not found.")
    oversized = await sandbox_http.get(
        f"/pinterest/v5/boards/{BOARD}/pins",
        params={"page_size": 251},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert oversized.status_code == 400
