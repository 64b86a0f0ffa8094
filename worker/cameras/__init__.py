"""Live cameras: the runner that claims them, and per camera a capture process and its analysis."""
