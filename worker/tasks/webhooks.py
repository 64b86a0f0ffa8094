from __future__ import annotations

from uuid import UUID

from shared.contracts import WEBHOOK_DELIVER, WEBHOOKS_SWEEP
from shared.settings import get_settings
from worker.services import delivery
from worker.webhook_app import app

_settings = get_settings()


# A sender stuck past its lease (a resolver that never answers) is killed; the sweeper then
# hands the delivery to another. The soft limit comes first, so it can record the attempt.
@app.task(
    name=WEBHOOK_DELIVER,
    soft_time_limit=delivery.soft_time_limit_s(_settings),
    time_limit=delivery.lease(_settings).total_seconds(),
)
def deliver(delivery_id: str) -> None:
    delivery.deliver(UUID(delivery_id))


@app.task(name=WEBHOOKS_SWEEP)
def sweep() -> int:
    return delivery.sweep()
