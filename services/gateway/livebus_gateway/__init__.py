"""livebus gateway: the client-facing edge."""
