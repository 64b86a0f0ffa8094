"""Celery workers: load models once per process, analyse images and videos, write results back."""
