"""Failures a user can act on: their message is stored on the job as is."""


class MediaError(Exception):
    """The uploaded media cannot be analysed (the message is shown to the user)."""


class ModelUnavailableError(Exception):
    """The configured model cannot be found or loaded."""


class JobLostError(Exception):
    """The job was deleted, or another attempt owns it now: stop quietly."""
