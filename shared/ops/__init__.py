"""Operational entry points: preflight checks, migrations, the local dev stack."""
