"""How often a tenant's targets are tried against a platform's errors, and how long apart
(issue 21 item 3): the seeds disagree, so each tenant chooses, per mode.

- `crier` (the default): CRIER_PUBLISH_MAX_ATTEMPTS tries (5), waits growing from
  CRIER_PUBLISH_INITIAL_INTERVAL by CRIER_PUBLISH_BACKOFF up to CRIER_PUBLISH_MAX_INTERVAL.
- `leadmetrics` (seed 000): "3 attempts: 1 min, 5 min, 15 min", then "All 3 retries
  exhausted": the first try and three retries after 1, 5 and 15 minutes.
- `softsolz` (seed 004): dead-lettered "after five attempts", with crier's backoff.
- `manual` (seed 001: "Failed posts don't auto-retry"): one try; a person retries.
- explicit: `max_attempts` with either `delays_seconds` (the wait after each failed try; the
  last repeats) or crier's backoff shape.

Only the platform's errors count (activities/errors.py). A rate limit waits for the reset the
platform announced, whatever the policy; a try that timed out is crier's failure and costs
nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from core.config import Settings

Preset = Literal["crier", "leadmetrics", "softsolz", "manual"]
MAX_TRIES = 20
MAX_WAIT_SECONDS = 24 * 3600


class RetryPolicyChoice(BaseModel):
    """What a tenant stored: a preset, or explicit values (never both)."""

    preset: Preset | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=MAX_TRIES)
    delays_seconds: list[int] | None = Field(default=None, min_length=1, max_length=MAX_TRIES)
    initial_interval_seconds: int | None = Field(default=None, ge=1, le=MAX_WAIT_SECONDS)
    backoff: float | None = Field(default=None, ge=1.0, le=10.0)
    max_interval_seconds: int | None = Field(default=None, ge=1, le=MAX_WAIT_SECONDS)

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        explicit = {
            name
            for name in (
                "max_attempts",
                "delays_seconds",
                "initial_interval_seconds",
                "backoff",
                "max_interval_seconds",
            )
            if getattr(self, name) is not None
        }
        problems = []
        if self.preset is not None and explicit:
            problems.append(
                f"give a preset or explicit values, not both ({', '.join(sorted(explicit))})"
            )
        if self.preset is None and self.max_attempts is None:
            problems.append("give a preset, or max_attempts")
        shaped = explicit & {"initial_interval_seconds", "backoff", "max_interval_seconds"}
        if self.delays_seconds is not None and shaped:
            problems.append(f"give delays_seconds or {', '.join(sorted(shaped))}, not both")
        if any(not 1 <= d <= MAX_WAIT_SECONDS for d in self.delays_seconds or []):
            problems.append(f"each of delays_seconds is from 1 to {MAX_WAIT_SECONDS}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Retries(BaseModel):
    """A choice resolved against the deployment's settings: what the activities apply."""

    max_attempts: int
    delays_seconds: list[int] | None  # the wait after try n is delays_seconds[n-1] (last repeats)
    initial_interval_seconds: int
    backoff: float
    max_interval_seconds: int
    # The tenant chose its own waits. Otherwise crier's backoff applies as the workflow's
    # RetryPolicy has it (its input, from the settings the delivery started with), so the
    # activities set no wait of their own.
    own_waits: bool = False

    def wait_after(self, tries: int) -> timedelta | None:
        """How long after the `tries`-th failed try the next one goes; None: crier's backoff."""
        if self.delays_seconds:
            return timedelta(seconds=self.delays_seconds[min(tries, len(self.delays_seconds)) - 1])
        if not self.own_waits:
            return None
        grown = self.initial_interval_seconds * self.backoff ** (tries - 1)
        return timedelta(seconds=min(grown, self.max_interval_seconds))


def resolve(choice: RetryPolicyChoice | None, settings: Settings) -> Retries:
    crier = Retries(
        max_attempts=settings.publish_max_attempts,
        delays_seconds=None,
        initial_interval_seconds=int(settings.publish_initial_interval.total_seconds()),
        backoff=settings.publish_backoff,
        max_interval_seconds=int(settings.publish_max_interval.total_seconds()),
    )
    if choice is None or choice.preset == "crier":
        return crier
    if choice.preset == "leadmetrics":
        return crier.model_copy(update={"max_attempts": 4, "delays_seconds": [60, 300, 900]})
    if choice.preset == "softsolz":
        return crier.model_copy(update={"max_attempts": 5})
    if choice.preset == "manual":
        return crier.model_copy(update={"max_attempts": 1})
    assert choice.max_attempts is not None  # the validator made sure
    return Retries(
        max_attempts=choice.max_attempts,
        delays_seconds=choice.delays_seconds,
        initial_interval_seconds=choice.initial_interval_seconds or crier.initial_interval_seconds,
        backoff=choice.backoff or crier.backoff,
        max_interval_seconds=choice.max_interval_seconds or crier.max_interval_seconds,
        own_waits=any(
            value is not None
            for value in (
                choice.initial_interval_seconds,
                choice.backoff,
                choice.max_interval_seconds,
            )
        ),
    )
