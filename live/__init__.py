"""The live view service (`python -m live`): WebRTC peers, with aiortc, that send cameras'
annotated frames to browsers. The API hands it offers over Redis (shared/live/protocol.py)."""
