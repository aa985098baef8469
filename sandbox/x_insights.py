"""X API v2's lookups that carry counts (docs/platforms.md §16.5), for the sandbox's tweets and
users: `GET /2/tweets?ids=…` with `public_metrics`, the author's own `non_public_metrics` (posts
of the last 30 days) and a video's views through `expansions=attachments.media_keys`; and
`GET /2/users?ids=…&user.fields=public_metrics`. Numbers from sandbox/metrics_numbers.py.

As on X, a lookup answers 200 with the objects it found in `data` and one entry per id it could
not (or per field it may not show) in `errors`; a malformed parameter is a 400."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox import x
from sandbox.metrics_numbers import day_numbers, post_numbers
from sandbox.state import SandboxPost

router = APIRouter(prefix="/x", tags=["x"])

MAX_IDS = 100
PRIVATE_DAYS = 30  # non-public metrics: only for posts created within the last 30 days
METRIC_FIELDS = {"public_metrics", "non_public_metrics", "organic_metrics"}
LOOKUP_PARAMETERS = {"ids", "tweet.fields", "expansions", "media.fields", "user.fields"}
EXPANSIONS = {"attachments.media_keys", "author_id", "referenced_tweets.id"}
MEDIA_FIELDS = {"media_key", "type", "public_metrics", "duration_ms", "preview_image_url"}
USER_FIELDS = {"id", "name", "username", "created_at", "public_metrics", "description"}
MEDIA_TYPES = {"tweet_gif": "animated_gif", "tweet_video": "video", "amplify_video": "video"}
ADVICE = "https://api.twitter.com/2/problems/"


def _fields(
    request: Request, name: str, known: frozenset[str] | set[str]
) -> set[str] | JSONResponse:
    asked = {f for f in request.query_params.get(name, "").split(",") if f}
    if unknown := asked - known:
        return x.invalid_request(f"The `{name}` query parameter value {sorted(unknown)} is invalid")
    return asked


def _ids(request: Request) -> list[str] | JSONResponse:
    if unknown := set(request.query_params) - LOOKUP_PARAMETERS:
        known = ",".join(sorted(LOOKUP_PARAMETERS))
        return x.invalid_request(
            f"The query parameter [{sorted(unknown)[0]}] is not one of [{known}]"
        )
    raw = request.query_params.get("ids", "")
    ids = [i for i in raw.split(",") if i]
    if not ids or len(ids) > MAX_IDS or not all(i.isdigit() for i in ids):
        return x.invalid_request(f"The `ids` query parameter value [{raw}] is not valid")
    return ids


@router.get("/2/tweets")
async def tweets(request: Request) -> JSONResponse:
    if (user := x._user(request)) is None:
        return x.unauthorized()
    ids = _ids(request)
    if isinstance(ids, JSONResponse):
        return ids
    fields = _fields(request, "tweet.fields", x.TWEET_FIELDS | METRIC_FIELDS)
    expansions = _fields(request, "expansions", EXPANSIONS)
    media_fields = _fields(request, "media.fields", MEDIA_FIELDS)
    for asked in (fields, expansions, media_fields):
        if isinstance(asked, JSONResponse):
            return asked
    assert isinstance(fields, set) and isinstance(expansions, set)
    assert isinstance(media_fields, set)
    state = x._state(request)
    data: list[dict[str, Any]] = []
    media: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for tweet_id in ids:
        post = x._tweet_by_id(state, tweet_id)
        if post is None:
            errors.append(_not_found(tweet_id, "tweet", "ids"))
            continue
        counts = post_numbers(post.id, time.time() - post.received_at)
        # The expansion brings the tweet's media keys, as the `attachments` field would.
        keys = {"attachments"} if "attachments.media_keys" in expansions else set()
        tweet = x._tweet(state, post, fields | keys)
        if "public_metrics" in fields:
            tweet["public_metrics"] = _public(counts)
        private = fields & {"non_public_metrics", "organic_metrics"}
        for name in sorted(private):
            if post.account != user or time.time() - post.received_at > PRIVATE_DAYS * 86_400:
                errors.append(_not_authorized(tweet_id, name))
            elif name == "non_public_metrics":
                tweet[name] = {
                    "impression_count": counts["impressions"],
                    "url_link_clicks": counts["clicks"],
                    "user_profile_clicks": counts["clicks"] // 3,
                }
            else:
                tweet[name] = {**_public(counts), "url_link_clicks": counts["clicks"]}
        if "attachments.media_keys" in expansions:
            media += _media(state.media, post, counts, media_fields)
        data.append(tweet)
    body: dict[str, Any] = {"data": data} if data else {}
    if media:
        body["includes"] = {"media": media}
    if errors:
        body["errors"] = errors
    return JSONResponse(body)


def _public(counts: dict[str, int]) -> dict[str, int]:
    quotes = counts["shares"] // 4
    return {
        "retweet_count": counts["shares"] - quotes,
        "reply_count": counts["comments"],
        "like_count": counts["likes"],
        "quote_count": quotes,
        "bookmark_count": counts["saves"],
        "impression_count": counts["impressions"],
    }


def _media(
    uploads: dict[str, Any], post: SandboxPost, counts: dict[str, int], fields: set[str]
) -> list[dict[str, Any]]:
    """The post's media objects; a video's or GIF's `public_metrics` carry its views."""
    found = []
    for media_id in post.media:
        category = (uploads.get(media_id) or {}).get("category", "tweet_image")
        kind = MEDIA_TYPES.get(category, "photo")
        item: dict[str, Any] = {"media_key": x._media_key(media_id, category), "type": kind}
        if "public_metrics" in fields and kind != "photo":
            item["public_metrics"] = {"view_count": counts["video_views"]}
        found.append(item)
    return found


@router.get("/2/users")
async def users(request: Request) -> JSONResponse:
    """Any numeric id is a sandbox user (as for the timeline): its counts drift by the day."""
    if x._user(request) is None:
        return x.unauthorized()
    ids = _ids(request)
    if isinstance(ids, JSONResponse):
        return ids
    fields = _fields(request, "user.fields", USER_FIELDS)
    if isinstance(fields, JSONResponse):
        return fields
    today = datetime.now(UTC).date()
    data = []
    for user_id in ids:
        user: dict[str, Any] = {
            "id": user_id,
            "name": f"Sandbox {user_id[-4:]}",
            "username": f"sandbox_{user_id[-4:]}",
        }
        if "public_metrics" in fields:
            followers = day_numbers(user_id, today)["followers"]
            user["public_metrics"] = {
                "followers_count": followers,
                "following_count": followers // 20,
                "tweet_count": len(x._state(request).posts_for("x", user_id)),
                "listed_count": followers // 100,
                "like_count": int(followers * 0.4),
            }
        data.append(user)
    return JSONResponse({"data": data})


def _not_found(value: str, kind: str, parameter: str) -> dict[str, Any]:
    return {
        "value": value,
        "detail": f"Could not find {kind} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": kind,
        "parameter": parameter,
        "resource_id": value,
        "type": ADVICE + "resource-not-found",
    }


def _not_authorized(tweet_id: str, field: str) -> dict[str, Any]:
    return {
        "value": field,
        "detail": f"Sorry, you are not authorized to access '{field}' on the Tweet with id"
        f" {tweet_id}.",
        "title": "Field Authorization Error",
        "resource_type": "tweet",
        "field": field,
        "resource_id": tweet_id,
        "type": ADVICE + "not-authorized-for-field",
    }
