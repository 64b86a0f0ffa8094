"""Code the API and the worker both import: settings, ORM models, contracts, storage."""
