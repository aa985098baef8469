"""Logs are JSON lines that say which tenant, post and target they are about, and carry no
request URL (Graph tokens ride in query strings) and no OAuth callback query."""

from __future__ import annotations

import io
import json
import logging

from core.logs import DropQueryStrings, bind_log_context, json_handler, log_context
from tests.support.harness import Harness


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = json_handler()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    logger = logging.getLogger("crier.test.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_records_are_json_with_the_ids_they_are_about() -> None:
    logger, stream = _capture()
    with log_context(tenant_id="t1", post_id="p1", target_id="g1"):
        logger.info("published %s", "x")
    logger.info("outside")
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "published x" and inside["level"] == "INFO"
    assert (inside["tenant_id"], inside["post_id"], inside["target_id"]) == ("t1", "p1", "g1")
    assert "target_id" not in outside and "time" in outside


def test_access_lines_keep_the_path_and_drop_the_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/oauth/x/callback?code=secret-code&state=s", "1.1", 200),
        None,
    )
    assert DropQueryStrings().filter(record)
    assert "secret-code" not in record.getMessage()
    assert "/v1/oauth/x/callback" in record.getMessage()


async def test_activity_records_carry_their_target(harness: Harness) -> None:
    logger, stream = _capture()
    activities_log = logging.getLogger("activities.ledger")
    handler = logger.handlers[0]
    activities_log.addHandler(handler)
    level = activities_log.level
    activities_log.setLevel(logging.INFO)
    try:
        target, handle = await harness.schedule(after=None, body="Logged with its ids")
        await handle.result()
    finally:
        activities_log.removeHandler(handler)
        activities_log.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("target_id") == target.id]
    assert mine, lines
    assert all(line["tenant_id"] == target.tenant_id for line in mine)
    assert all(line["post_id"] == target.post_id for line in mine)
    bind_log_context()  # nothing bound: a no-op outside an activity
