"""livebus WebRTC edge: WHIP signalling and aiortc media on the same bus as the gateway."""
