"""`make chaos`: break Redis, Postgres, the worker, the webhook receiver and the storage under
real jobs, and measure what the service does about it (see docs/faults.md)."""
