"""The FastAPI gateway: auth, uploads, job ownership and results. It never loads a model."""
