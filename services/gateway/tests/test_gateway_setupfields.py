"""The setup allow-list against the google-genai SDK: every wire name the SDK sends is allowed.

A LiveConnectConfig with every field set (recursively, except the ones setupfields.REFUSED names)
is converted exactly as `client.aio.live.connect` does; the resulting setup must pass the check.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import types as pytypes
import typing
from typing import Any

import pydantic
import pytest
from google import genai
from google.genai import _common, _live_converters, types
from pydantic.alias_generators import to_camel

from livebus import closecodes
from livebus_gateway import setupcheck, setupfields
from livebus_gateway.wire import ProtocolError

MODEL = "models/gemini-live-2.5-flash-preview"
SKIPPED = {tuple(k.split(".")) for k in setupfields.REFUSED}


def _fill(annotation: Any, depth: int) -> Any:
    """A value of the annotated type with every field set (recursive types cut at depth 6)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _fill(args[0], depth)
    if origin in (typing.Union, pytypes.UnionType):
        options = [a for a in args if a is not type(None)]
        models = [a for a in options if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]
        return _fill((models or options)[0], depth)
    if origin is typing.Literal:
        return args[0]
    if origin is list:
        item = _fill(args[0], depth) if args else None
        return [] if item is None else [item]
    if origin is dict:
        item = _fill(args[1], depth) if args else None
        return {} if item is None else {"k": item}
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return list(annotation)[-1]
        if issubclass(annotation, pydantic.BaseModel):
            return _model(annotation, depth)
    simple: dict[Any, Any] = {bool: True, int: 3, float: 0.5, str: "x", bytes: b"ab",
                              dt.datetime: dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    if annotation in simple:
        return simple[annotation]
    if annotation is typing.Any:
        return {"a": 1}
    if origin is list or annotation is list:  # the SDK's ToolListUnion
        return [_model(types.Tool, depth)]
    raise AssertionError(f"no filler for {annotation!r}")


def _model(cls: type[pydantic.BaseModel], depth: int) -> pydantic.BaseModel | None:
    if depth > 6:
        return None
    values = {}
    for name, f in cls.model_fields.items():
        if (cls.__name__, to_camel(name)) in SKIPPED:
            continue
        value = _fill(f.annotation, depth + 1)
        if value is not None:
            values[name] = value
    return cls(**values)


def sdk_setup(config: types.LiveConnectConfig) -> dict[str, Any]:
    """What `AsyncLive.connect` sends as its first frame's setup (live.py, Gemini API branch)."""
    client = genai.Client(api_key="unused")
    request = _common.convert_to_dict(_live_converters._LiveConnectParameters_to_mldev(
        api_client=client._api_client,
        from_object=types.LiveConnectParameters(model=MODEL, config=config)
        .model_dump(exclude_none=True)))
    del request["config"]
    request = _common.encode_unserializable_types(request)
    setup: dict[str, Any] = json.loads(json.dumps(request))["setup"]
    return setup


def full_config() -> types.LiveConnectConfig:
    config = _model(types.LiveConnectConfig, 0)
    assert isinstance(config, types.LiveConnectConfig)
    config.tools = [_model(types.Tool, 1)]  # type: ignore[list-item]
    return config


def test_every_wire_name_the_sdk_sends_is_allowed() -> None:
    setup = sdk_setup(full_config())
    assert len(setup) >= 12 and "generationConfig" in setup and "tools" in setup
    setupcheck.check_setup(setup)


def test_sdk_names_cover_the_allow_list_top_level() -> None:
    """No invented top-level field: each allowed one is something the SDK sends."""
    sent = set(sdk_setup(full_config()))
    assert set(setupfields.MESSAGES[setupfields.SETUP]) <= sent


def test_http_options_never_reach_the_wire_from_the_sdk() -> None:
    config = full_config()
    config.http_options = types.HttpOptions(base_url="https://127.0.0.1:1", headers={"a": "b"})
    setup = sdk_setup(config)
    assert "httpOptions" not in setup and "http_options" not in setup


@pytest.mark.parametrize("setup", [
    {"model": MODEL, "httpOptions": {"baseUrl": "https://127.0.0.1:1"}},
    {"model": MODEL, "http_options": {"base_url": "https://127.0.0.1:1"}},
    {"model": MODEL, "generationConfig": {"httpOptions": {}}},
    {"model": MODEL, "tools": [{"functionDeclarations": [
        {"name": "f", "parametersJsonSchema": {"properties": {"httpOptions": {}}}}]}]},
    {"model": MODEL, "labels": {"httpOptions": "x"}},
])
def test_http_options_are_refused_anywhere(setup: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as e:
        setupcheck.check_setup(setup)
    assert e.value.code == closecodes.INVALID_ARGUMENT
    assert "ttp" in e.value.reason and "127.0.0.1" not in e.value.reason


@pytest.mark.parametrize("key", sorted(setupfields.REFUSED))
def test_refused_sdk_fields_are_refused(key: str) -> None:
    message, field = key.split(".")
    if message == "LiveConnectConfig":
        message = setupfields.SETUP
    assert field not in setupfields.MESSAGES.get(message, {})
