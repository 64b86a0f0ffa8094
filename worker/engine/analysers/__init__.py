"""Per-stream analysers (tracking, zones, lines, crowd, motion, plates), in registry.py's order."""
