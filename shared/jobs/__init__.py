"""Job services shared by the API and the worker."""
