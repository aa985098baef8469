"""What webhook delivery exchanges: workflows/webhook_delivery.py, activities/webhooks.py and
activities/event_relay.py."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

# Activity names, and the ApplicationError type that ends a delivery's retries.
RELAY_EVENTS = "relay_events"
DELIVER_WEBHOOK = "deliver_webhook"
FINISH_WEBHOOK_DELIVERY = "finish_webhook_delivery"
WEBHOOK_ABANDONED = "WebhookAbandoned"  # the endpoint was deleted or disabled: stop retrying


class WebhookRetry(BaseModel):
    """The delivery RetryPolicy's knobs, resolved from settings when the relay starts it."""

    max_attempts: int = 12
    initial_interval: timedelta = timedelta(seconds=30)
    backoff: float = 2.0
    max_interval: timedelta = timedelta(hours=2)
    timeout: timedelta = timedelta(seconds=10)


class WebhookDeliveryInput(BaseModel):
    delivery_id: str
    retry: WebhookRetry = WebhookRetry()
