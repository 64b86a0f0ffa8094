"""Celery tasks: thin adapters from a message to a service call."""
