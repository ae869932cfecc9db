"""The first example in docs/adding-a-tool.md declares what the page says it declares."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path

from livebus_tools import Tool

DOC = Path(__file__).resolve().parents[3] / "docs" / "adding-a-tool.md"


def test_the_documented_example_declares_what_the_doc_shows() -> None:
    text = DOC.read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    shown = json.loads(re.findall(r"```json\n(.*?)```", text, re.S)[0])
    module = types.ModuleType("doc_example")
    exec(compile(code, str(DOC), "exec"), module.__dict__)
    forecast = module.__dict__["forecast"]
    assert isinstance(forecast, Tool)
    declared = forecast.declaration()
    assert declared["name"] == shown["name"]
    assert declared["description"] == shown["description"]
    params, shown_params = declared["parametersJsonSchema"], shown["parametersJsonSchema"]
    assert params["required"] == shown_params["required"]
    for name, prop in shown_params["properties"].items():
        for key, value in prop.items():
            assert params["properties"][name][key] == value
