"""The live view's routes: WebRTC signaling (`/api/v1/webrtc/*`, and the live-view API's routes
at their own paths), handed to the live service over Redis."""
