"""livebus shared library: the only code services share."""
