"""Cameras, as both the API and the camera runners see them: parameters, source URLs and their
credentials, and the events they publish."""
