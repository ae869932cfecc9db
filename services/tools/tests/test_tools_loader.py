from __future__ import annotations

import pytest

from livebus_tools.loader import build_registry
from livebus_tools.settings import ToolsSettings


def test_builtins_can_be_left_out() -> None:
    r = build_registry(ToolsSettings(builtins=False, modules=["toolsamples"]))
    assert "remember" not in r.tools and "slow_echo" in r.tools


def test_a_module_without_tools_is_an_error() -> None:
    with pytest.raises(ValueError, match="defines no @tool"):
        build_registry(ToolsSettings(builtins=False, modules=["json"]))
    with pytest.raises(ModuleNotFoundError):
        build_registry(ToolsSettings(modules=["no_such_module_here"]))
