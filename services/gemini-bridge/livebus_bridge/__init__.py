"""livebus gemini-bridge: upstream Gemini Live sessions."""
