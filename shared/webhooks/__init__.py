"""Webhook code both sides share: signing, the SSRF guard and the event payloads."""
