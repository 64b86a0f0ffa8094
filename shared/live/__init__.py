"""The live view over WebRTC, as both the API and the live service (`python -m live`) see it:
the signaling protocol between them over Redis, offer checks and ICE servers."""
