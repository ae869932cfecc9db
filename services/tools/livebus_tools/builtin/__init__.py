"""The built-in tools (LIVEBUS_TOOLS_BUILTINS=false leaves them out)."""

from .clock import get_current_time
from .inventory import inventory_lookup
from .notes import recall, remember

__all__ = ["get_current_time", "inventory_lookup", "recall", "remember"]
