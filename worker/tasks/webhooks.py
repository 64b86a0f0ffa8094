from __future__ import annotations

from uuid import UUID

from shared.contracts import WEBHOOK_DELIVER, WEBHOOKS_SWEEP
from shared.settings import get_settings
from worker.services import delivery
from worker.webhook_app import app

# A sender stuck past its lease (a resolver that never answers) is killed; the sweeper then
# hands the delivery to another.
_time_limit = delivery.lease(get_settings()).total_seconds()


@app.task(name=WEBHOOK_DELIVER, time_limit=_time_limit)
def deliver(delivery_id: str) -> None:
    delivery.deliver(UUID(delivery_id))


@app.task(name=WEBHOOKS_SWEEP)
def sweep() -> int:
    return delivery.sweep()
