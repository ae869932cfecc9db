"""The dev harness: `make run`, process helpers, test fixtures and the dev CA (not for images)."""
