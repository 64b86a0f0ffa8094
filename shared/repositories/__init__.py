"""Every database query lives here; services call these functions, never the ORM directly."""
