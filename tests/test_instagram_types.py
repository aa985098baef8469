"""Instagram's own post types over real HTTP against the sandbox's Graph: stories (an image or a
video), a reel with a cover, collaborators and feed sharing, a lost story publish found on the
stories edge, and the option combinations refused at create."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.status import Platform
from providers.base import Credentials, NotCheckable, PostContent
from providers.errors import ContentError, ProviderError
from providers.instagram import InstagramProvider
from providers.options import options_problems
from providers.options.instagram import media_problems
from tests.support import reconcile

IG_USER = "17841400000000077"
IMAGE = "https://cdn.example.org/story.jpg"
VIDEO = "https://cdn.example.org/story.mp4"
COVER = "https://cdn.example.org/cover.jpg"

account = reconcile.account_fixture(Platform.INSTAGRAM, IG_USER)
provider = reconcile.provider_fixture(InstagramProvider, "instagram/v23.0")


async def containers(sandbox_http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The sandbox's containers, each with the parameters it took (`options`)."""
    data: list[dict[str, Any]] = (await sandbox_http.get("/_control/instagram/containers")).json()[
        "data"
    ]
    return data


@pytest.mark.parametrize("media", [IMAGE, VIDEO])
async def test_a_story_is_a_stories_container_published_without_a_permalink(
    provider: InstagramProvider,
    account: Credentials,
    sandbox_http: httpx.AsyncClient,
    media: str,
) -> None:
    content = PostContent(text="Today", media_urls=[media], options={"post_type": "story"})
    prepared, published = await reconcile.prepare_and_publish(
        provider, account, content, check=True
    )
    [container] = await containers(sandbox_http)
    assert (container["kind"], container["published_as"]) == ("STORIES", published.external_id)
    [post] = await reconcile.sandbox_posts(sandbox_http, Platform.INSTAGRAM)
    assert post["media"] == [media]
    assert post["text"] == ""  # a story takes no caption
    assert published.url is None

    # A story lists on the stories edge as the image or video it is, and never among the feed.
    since = reconcile.a_minute_ago()
    found = await provider.find_published(account, content, prepared, since=since)
    assert found is not None and found.external_id == published.external_id
    feed = PostContent(text="", media_urls=[media])
    with pytest.raises(NotCheckable):  # published, but no feed media is it
        await provider.find_published(account, feed, prepared, since=since)


async def test_a_reel_takes_its_cover_collaborators_and_feed_sharing(
    provider: InstagramProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    options = {"cover_url": COVER, "collaborators": ["ana.b", "c_d"], "share_to_feed": True}
    content = PostContent(text="Our reel", media_urls=[VIDEO], options=options)
    _, published = await reconcile.prepare_and_publish(provider, account, content, check=True)
    [container] = await containers(sandbox_http)
    assert container["kind"] == "REELS"
    assert container["options"] == options
    assert container["published_as"] == published.external_id
    [post] = await reconcile.sandbox_posts(sandbox_http, Platform.INSTAGRAM)
    assert (post["text"], post["media"]) == ("Our reel", [VIDEO])
    assert published.url == f"https://www.instagram.com/p/SBX{published.external_id}/"


async def test_a_reel_cover_may_be_a_frame(
    provider: InstagramProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Framed", media_urls=[VIDEO], options={"thumb_offset": 1500})
    await reconcile.prepare_and_publish(provider, account, content, check=True)
    [container] = await containers(sandbox_http)
    assert container["options"] == {"thumb_offset": 1500}


async def test_a_lost_story_publish_is_found_on_the_stories_edge(
    provider: InstagramProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="Lost", media_urls=[VIDEO], options={"post_type": "story"})
    # A reel published first, in the same window: the story's lookup must not take it.
    reel = PostContent(text="", media_urls=[VIDEO])
    await reconcile.prepare_and_publish(provider, account, reel, check=True)
    since = reconcile.began()
    prepared = await reconcile.ready(provider, account, content)
    assert await provider.find_published(account, content, prepared, since=since) is None

    await reconcile.inject(
        sandbox_http,
        method="POST",
        path=rf"/instagram/v23\.0/{IG_USER}/media_publish",
        accept_then_drop=True,
        times=1,
    )
    with pytest.raises(ProviderError):  # the connection broke: the answer is lost
        await provider.publish(account, content, prepared)
    stories = [
        c for c in await containers(sandbox_http) if c["kind"] == "STORIES" and c["published_as"]
    ]
    [story] = stories
    found = await provider.find_published(account, content, prepared, since=since)
    assert found is not None
    assert (found.external_id, found.url) == (story["published_as"], None)


async def test_the_sandbox_refuses_what_instagram_refuses(
    provider: InstagramProvider, account: Credentials
) -> None:
    """Straight to Graph, as a client that skipped the create checks would call it."""
    path = f"/{account.external_id}/media"
    token: dict[str, object] = {"access_token": account.access_token}
    api = provider._api  # the provider's own Graph client, for raw calls
    refused: list[dict[str, object]] = [
        {"media_type": "STORIES", "image_url": IMAGE, "is_carousel_item": True},
        {"media_type": "STORIES", "image_url": IMAGE, "collaborators": ["a"]},
        {"media_type": "REELS", "video_url": VIDEO, "collaborators": ["a", "b", "c", "d"]},
        {"image_url": IMAGE, "cover_url": COVER},
        {"media_type": "STORIES", "video_url": VIDEO, "thumb_offset": 10},
    ]
    for body in refused:
        with pytest.raises(ContentError, match="#100"):
            await api.call("POST", path, None, json=body | token)


@pytest.mark.parametrize(
    ("options", "problems"),
    [
        (
            {"post_type": "story", "cover_url": COVER},
            [(("cover_url",), "only a reel takes cover_url")],
        ),
        (
            {"post_type": "story", "collaborators": ["ana"]},
            [(("collaborators",), "a story takes no collaborators")],
        ),
        (
            {"post_type": "feed", "share_to_feed": True},
            [(("share_to_feed",), "only a reel takes share_to_feed")],
        ),
        (
            {"cover_url": COVER, "thumb_offset": 0},
            [(("thumb_offset",), "give cover_url or thumb_offset, not both")],
        ),
        (
            {"collaborators": ["a", "b", "c", "d"]},
            [(("collaborators",), "List should have at most 3 items after validation, not 4")],
        ),
        (
            {"collaborators": ["@ana"]},
            [
                (
                    ("collaborators", 0),
                    "must be an Instagram username: letters, digits, . and _, at most 30",
                )
            ],
        ),
        (
            {"cover_url": "http://cdn.example.org/c.jpg"},
            [(("cover_url",), "must be an absolute https URL that Instagram can fetch")],
        ),
        ({"thumb_offset": -1}, [(("thumb_offset",), "Input should be greater than or equal to 0")]),
        ({"post_type": "story"}, []),
        ({"post_type": "reel", "cover_url": COVER, "collaborators": ["a", "b", "c"]}, []),
    ],
)
def test_options_refused_at_create(
    options: dict[str, Any], problems: list[tuple[tuple[str | int, ...], str]]
) -> None:
    assert options_problems(Platform.INSTAGRAM, options) == problems


def test_what_the_media_cannot_make() -> None:
    images = [IMAGE, IMAGE]
    assert media_problems({"post_type": "story"}, images) == [
        (("post_type",), "a story is one image or video, not a carousel")
    ]
    assert media_problems({"post_type": "reel"}, [IMAGE]) == [
        (("post_type",), "a reel is one video")
    ]
    assert media_problems({"cover_url": COVER}, [IMAGE]) == [
        (("cover_url",), "only a reel takes cover_url; this media makes a feed post")
    ]
    assert media_problems({"cover_url": COVER}, [VIDEO]) == []


async def test_a_carousel_story_is_refused_before_any_container(
    provider: InstagramProvider, account: Credentials, sandbox_http: httpx.AsyncClient
) -> None:
    content = PostContent(text="", media_urls=[IMAGE, IMAGE], options={"post_type": "story"})
    with pytest.raises(ContentError, match="not a carousel"):
        await provider.prepare(account, content)
    assert await containers(sandbox_http) == []
