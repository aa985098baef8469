"""Each platform's options, published (`GET /v1/platforms`) and checked at create: the schema
is the model the API validates with, every key a provider reads is in it (read from the
providers' source), and a target's options name every problem at its key."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from core.config import Settings
from core.db import Database
from core.status import Platform
from providers.options import OPTIONS
from providers.registry import PROVIDERS, rules_for
from providers.tiktok_options import POST_INFO_OPTIONS
from tests.support.api import bearer
from tests.support.api_fixtures import api_fixture, tenant_fixture
from tests.support.factories import TenantFixture, make_account

PROVIDERS_DIR = Path(__file__).resolve().parent.parent / "providers"
# Modules that speak for no one platform, and read no option.
SHARED = {"base", "errors", "graph", "http", "registry", "transport", "__init__"}

api = api_fixture()
tenant = tenant_fixture()


def _platform_of(module: Path) -> Platform:
    for platform in Platform:
        if module.stem == platform.value or module.stem.startswith(f"{platform.value}_"):
            return platform
    raise AssertionError(f"{module.name} reads options but names no platform")


def _is_options(node: ast.expr) -> bool:
    """`options` or `<anything>.options`: a target's options as a provider holds them."""
    return (isinstance(node, ast.Name) and node.id == "options") or (
        isinstance(node, ast.Attribute) and node.attr == "options"
    )


def _keys_read(tree: ast.Module) -> set[str]:
    """The option keys a module reads by name: options.get("k"), options["k"], "k" in
    options, and content.title (the `title` option, which the worker hands over as the
    content's title)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and _is_options(node.func.value)
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
        elif (
            isinstance(node, ast.Subscript)
            and _is_options(node.value)
            and isinstance(node.slice, ast.Constant)
        ):
            found.add(str(node.slice.value))
        elif (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and any(_is_options(c) for c in node.comparators)
        ):
            found.add(str(node.left.value))
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "title"
            and isinstance(node.value, ast.Name)
            and node.value.id == "content"
        ):
            found.add("title")
    return found


def keys_each_provider_reads() -> dict[Platform, set[str]]:
    read: dict[Platform, set[str]] = {platform: set() for platform in PROVIDERS}
    for module in sorted(PROVIDERS_DIR.glob("*.py")):
        if module.stem in SHARED:
            continue
        keys = _keys_read(ast.parse(module.read_text(), str(module)))
        if keys:
            read[_platform_of(module)] |= keys
    # TikTok's switches are read by a loop over their names.
    read[Platform.TIKTOK] |= set(POST_INFO_OPTIONS)
    return read


def test_the_source_scan_finds_the_reads_it_looks_for() -> None:
    """The scan itself, on code written each way a provider reads an option."""
    tree = ast.parse(
        "a = content.options.get('one')\n"
        "b = options['two']\n"
        "c = 'three' in content.options\n"
        "d = content.title\n"
        "e = other.get('not_an_option')\n"
    )
    assert _keys_read(tree) == {"one", "two", "three", "title"}


def test_every_key_a_provider_reads_is_in_its_schema_and_no_other() -> None:
    read = keys_each_provider_reads()
    assert read[Platform.TIKTOK] >= {"privacy_level", "disable_duet"}  # the scan sees reads
    for platform in PROVIDERS:
        assert set(OPTIONS[platform].keys) == read[platform], platform


async def test_platforms_lists_each_ones_schema_limits_and_post_types(
    api: httpx.AsyncClient, tenant: TenantFixture
) -> None:
    answer = await api.get("/v1/platforms", headers=bearer(tenant.api_key))
    assert answer.status_code == 200, answer.text
    listed = {item["platform"]: item for item in answer.json()["data"]}
    assert set(listed) == {platform.value for platform in PROVIDERS}
    for platform in PROVIDERS:
        item, rules = listed[platform.value], rules_for(platform)
        schema = item["options"]
        jsonschema_rs.meta.validate(schema)
        assert schema["additionalProperties"] is False
        assert set(schema["properties"]) == OPTIONS[platform].keys
        assert item["text"] == {
            "max_length": rules.max_text_length,
            "unit": rules.unit,
            "required": rules.requires_text_or_media,
        }
        assert item["media"]["max_count"] == rules.max_media
        assert item["media"]["required"] == rules.requires_media
        assert item["drafts"] == rules.supports_drafts
        assert item["post_types"], platform
    assert listed["x"]["text"]["unit"] == "weighted characters"
    assert listed["bluesky"]["media"]["checks"]["max_image_bytes"] == 2_000_000
    assert listed["facebook"]["media"]["checks"]["image_formats"] == ["JPEG", "PNG"]
    tiktok = listed["tiktok"]["options"]["properties"]
    assert tiktok["privacy_level"]["enum"] == [
        "PUBLIC_TO_EVERYONE",
        "MUTUAL_FOLLOW_FRIENDS",
        "FOLLOWER_OF_CREATOR",
        "SELF_ONLY",
    ]
    assert tiktok["is_aigc"]["type"] == "boolean"
    google = listed["google_business"]
    assert [t["name"] for t in google["post_types"]] == ["STANDARD", "EVENT", "OFFER"]
    assert set(google["options"]["$defs"]["Schedule"]["properties"]) == {
        "startDate",
        "startTime",
        "endDate",
        "endTime",
    }
    assert listed["x"]["options"]["properties"] == {}


def test_the_published_schema_accepts_what_the_api_accepts() -> None:
    """Examples a person would write, each valid under both the schema and the model (the
    schema is jsonschema_rs's to read, as a client's validator would)."""
    examples: dict[Platform, dict[str, Any]] = {
        Platform.TIKTOK: {"privacy_level": "SELF_ONLY", "disable_duet": True, "is_aigc": False},
        Platform.YOUTUBE: {"title": "Launch", "privacy": "unlisted", "tags": ["a", "b"]},
        Platform.PINTEREST: {
            "title": "Jug",
            "alt_text": "A jug",
            "cover_image_url": "https://a.b/c.jpg",
        },
        Platform.BLUESKY: {"langs": ["en", "pt-BR"], "rkey": "3jzfcijpj2z2a", "alt_texts": ["x"]},
        Platform.LINKEDIN: {
            "title": "Read this",
            "mentions": [{"name": "Acme", "urn": "urn:li:organization:1"}],
        },
        Platform.GOOGLE_BUSINESS: {
            "topic_type": "OFFER",
            "event": {
                "title": "Sale",
                "schedule": {
                    "startDate": {"year": 2030, "month": 1, "day": 2},
                    "endDate": {"year": 2030, "month": 1, "day": 9},
                    "endTime": {"hours": 18, "minutes": 0},
                },
            },
            "offer": {"couponCode": "SALE10", "redeemOnlineUrl": "https://shop.example/s"},
        },
    }
    for platform, options in examples.items():
        chosen = OPTIONS[platform]
        schema = jsonschema_rs.Draft202012Validator(chosen.json_schema())
        schema.validate(options)
        chosen.adapter.validate_python(options)
        # And both refuse a key the platform does not take.
        assert not schema.is_valid({**options, "colour": "red"})


@pytest.fixture
async def accounts(db: Database, settings: Settings, tenant: TenantFixture) -> dict[str, str]:
    made = {
        Platform.TIKTOK: "tiktok-open-id-options",
        Platform.GOOGLE_BUSINESS: "accounts/1001/locations/2002",
        Platform.X: "1500000000000000001",
        Platform.BLUESKY: "did:plc:options00000000000000",
    }
    return {
        platform.value: (await make_account(db, settings, tenant, platform, external)).id
        for platform, external in made.items()
    }


async def test_every_options_problem_is_named_at_its_key(
    api: httpx.AsyncClient, tenant: TenantFixture, accounts: dict[str, str]
) -> None:
    body = {
        "body": "Opening week",
        "link": "https://shop.example/",
        "targets": [
            {
                "account_id": accounts["tiktok"],
                "override_media_urls": ["https://media.example/clip.mp4"],
                "options": {"privacy_level": "EVERYONE", "is_aigc": "yes", "privacy_levle": 1},
            },
            {
                "account_id": accounts["google_business"],
                "options": {
                    "topic_type": "event",
                    "call_to_action": {"actionType": "CALL", "url": "https://shop.example/"},
                    "offer": {"couponCode": "X"},
                    "event": {"schedule": {"startDate": {"year": 2030, "month": 1, "day": 2}}},
                },
            },
            {"account_id": accounts["x"], "options": {"title": "X has no titles"}},
            {"account_id": accounts["bluesky"], "options": {"rkey": "3kabc", "langs": None}},
        ],
    }
    answer = await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))
    assert answer.status_code == 422, answer.text
    named = {tuple(d["loc"]): d["msg"] for d in answer.json()["error"]["details"]}
    tiktok = ("body", "targets", 0, "options")
    google = ("body", "targets", 1, "options")
    assert named == {
        (*tiktok, "privacy_level"): "Input should be 'PUBLIC_TO_EVERYONE', "
        "'MUTUAL_FOLLOW_FRIENDS', 'FOLLOWER_OF_CREATOR' or 'SELF_ONLY'",
        (*tiktok, "is_aigc"): "Input should be a valid boolean",
        (*tiktok, "privacy_levle"): "not an option for tiktok; it takes brand_content_toggle, "
        "brand_organic_toggle, disable_comment, disable_duet, disable_stitch, is_aigc, "
        "privacy_level",
        (*google, "event", "schedule", "endDate"): "EVENT posts need a complete schedule",
        (*google, "event", "title"): "EVENT posts need event.title or title",
        (*google, "offer"): "only OFFER posts take an offer",
        (*google, "call_to_action", "url"): "CALL takes no url",
        ("body", "targets", 2, "options", "title"): "not an option: x takes no options",
        ("body", "targets", 3, "options", "rkey"): "must be a TID: 13 characters of 2-7 and "
        "a-z, such as 3jzfcijpj2z2a",
        ("body", "targets", 3, "options", "langs"): "Input should be a valid list",
    }


async def test_options_a_platform_takes_are_stored_as_sent(
    api: httpx.AsyncClient, tenant: TenantFixture, accounts: dict[str, str]
) -> None:
    chosen = {
        "topic_type": "EVENT",
        "title": "Opening week",
        "event": {
            "schedule": {
                "startDate": {"year": 2030, "month": 1, "day": 2},
                "endDate": {"year": 2030, "month": 1, "day": 9},
            }
        },
        "call_to_action": {"actionType": "CALL"},
    }
    body = {
        "body": "Come by",
        "targets": [{"account_id": accounts["google_business"], "options": chosen}],
    }
    answer = await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))
    assert answer.status_code == 201, answer.text
    assert answer.json()["data"]["targets"][0]["options"] == chosen


async def test_an_instagram_post_type_the_media_cannot_make_is_refused_at_create(
    api: httpx.AsyncClient, db: Database, settings: Settings, tenant: TenantFixture
) -> None:
    ig = await make_account(db, settings, tenant, Platform.INSTAGRAM, "17841400000000777")
    other = await make_account(db, settings, tenant, Platform.INSTAGRAM, "17841400000000778")
    photos = ["https://media.example/a.jpg", "https://media.example/b.jpg"]
    body = {
        "body": "Two photos",
        "media_urls": photos,
        "targets": [
            {"account_id": ig.id, "options": {"post_type": "story"}},
            {"account_id": other.id, "options": {"cover_url": "https://media.example/c.jpg"}},
        ],
    }
    answer = await api.post("/v1/posts", json=body, headers=bearer(tenant.api_key))
    assert answer.status_code == 422, answer.text
    named = {tuple(d["loc"]): d["msg"] for d in answer.json()["error"]["details"]}
    assert named[("body", "targets", 0, "options", "post_type")] == (
        "a story is one image or video, not a carousel"
    )
    assert named[("body", "targets", 1, "options", "cover_url")] == (
        "only a reel takes cover_url; this media makes a feed post"
    )
