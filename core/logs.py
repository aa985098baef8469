"""Logging set-up shared by every process crier runs."""

from __future__ import annotations

import logging

# Libraries that log request URLs: Graph API calls carry the access token in the query string,
# so their INFO lines would put a token in the log.
URL_LOGGERS = ("httpx", "httpcore")


def silence_url_logging() -> None:
    for name in URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    silence_url_logging()
