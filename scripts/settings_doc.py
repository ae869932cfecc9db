"""Write docs/configuration.md from the services' settings classes (`make docs`).

The page is generated so it cannot drift: tests/test_docs.py fails when it would
change.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from livebus_bridge.settings import BridgeSettings, UpstreamSettings
from livebus_dev.devstack import DevStackSettings
from livebus_emulator.settings import EmulatorSettings
from livebus_gateway.settings import GatewaySettings
from livebus_sampler.settings import SamplerSettings
from livebus_tools.settings import ToolsSettings
from livebus_webrtc.settings import WebRTCSettings

SERVICES: list[tuple[str, type[BaseSettings]]] = [
    ("gateway", GatewaySettings),
    ("webrtc-edge", WebRTCSettings),
    ("gemini-bridge", BridgeSettings),
    ("gemini-bridge: upstream (unprefixed, the key lives only here)", UpstreamSettings),
    ("frame-sampler", SamplerSettings),
    ("tools", ToolsSettings),
    ("gemini-emulator", EmulatorSettings),
    ("make run (`livebus_dev.devstack`)", DevStackSettings),
]

HEAD = """# Configuration

Every service reads environment variables through pydantic-settings, one prefix per service.
Lists are comma-separated. This page is generated from the settings classes by
`make docs` (a test fails when it is out of date); the comments in each `settings.py` say what a
setting is for. `instance_id` defaults to `<hostname>-<pid>` (the pod name on Kubernetes).
"""


def _default(name: str, field: FieldInfo) -> str:
    if name == "instance_id":
        return "`<hostname>-<pid>`"
    factory = field.default_factory
    value = factory() if factory is not None else field.default  # type: ignore[call-arg]
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, list):
        return "`" + ",".join(map(str, value)) + "`"
    return f"`{value}`"


def render() -> str:
    out = [HEAD]
    for title, cls in SERVICES:
        prefix = str(cls.model_config.get("env_prefix", ""))
        out.append(f"\n## {title}\n\n| variable | default |\n|---|---|")
        for name, field in cls.model_fields.items():
            out.append(f"| `{(prefix + name).upper()}` | {_default(name, field)} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/configuration.md")
    target.write_text(render())
