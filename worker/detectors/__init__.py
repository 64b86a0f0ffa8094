"""Detector plugins: one file per detector under plugins/, discovered by the registry."""
