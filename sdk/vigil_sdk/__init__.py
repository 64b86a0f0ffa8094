"""Python client of the Vigil API."""
