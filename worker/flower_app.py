"""Flower's Celery app (`celery -A worker.flower_app flower`): the broker's address and nothing
else. Flower only watches the workers' events and sends them remote-control commands, so it
starts without the secret key and the database URL that the worker apps refuse to start
without, and a compromised dashboard holds neither."""

from __future__ import annotations

from celery import Celery

from shared.settings import BrokerSettings

app = Celery("vigil-flower")
app.conf.update(broker_url=BrokerSettings().redis_url, broker_connection_retry_on_startup=True)
