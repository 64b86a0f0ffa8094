"""Each module here defines one Detector subclass; the registry imports them all."""
