"""Which tools a replica serves: the built-ins and the modules named in the settings."""

from __future__ import annotations

from .registry import Registry
from .settings import ToolsSettings

BUILTIN_MODULE = "livebus_tools.builtin"


def build_registry(settings: ToolsSettings) -> Registry:
    registry = Registry()
    if settings.builtins:
        registry.load(BUILTIN_MODULE)
    for module in settings.modules:
        registry.load(module)
    return registry
