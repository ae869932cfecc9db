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
from livebus.edge import setupcheck, setupfields
from livebus.edge.wire import ProtocolError

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
        if name.endswith("_offset") and value == "x":  # a Duration the SDK types as str
            value = "1.5s"
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
    config.tools = [_model(types.Tool, 1)]
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


def _cwc(trigger: object, target: object = 1) -> dict[str, Any]:
    return {"model": MODEL, "contextWindowCompression": {
        "triggerTokens": trigger, "slidingWindow": {"targetTokens": target}}}


def _refused(setup: dict[str, Any]) -> str:
    with pytest.raises(ProtocolError) as e:
        setupcheck.check_setup(setup)
    assert e.value.code == closecodes.INVALID_ARGUMENT
    return e.value.reason


@pytest.mark.parametrize("value", [25600, "25600", 25600.0, "-3", "0", str(2**63 - 1)])
def test_int64_fields_take_a_number_or_a_decimal_string(value: object) -> None:
    """Protobuf JSON: int64 is a decimal string (as @google/genai sends it) or a number."""
    setupcheck.check_setup(_cwc(value, value))


@pytest.mark.parametrize("value", ["many", "", " 1", "1 ", "+1", "1_000", "1e3", "0x10", "1.5",
                                   str(2**63), 2**63, 1.5, True, [1], {"n": 1}, "9" * 400])
def test_int64_fields_refuse_what_is_not_an_int64(value: object) -> None:
    assert "triggerTokens" in _refused(_cwc(value))
    assert "targetTokens" in _refused(_cwc(1, value))


def test_int32_fields_take_strings_too_within_their_range() -> None:
    setupcheck.check_setup({"model": MODEL, "generationConfig": {"maxOutputTokens": "512",
                                                                 "seed": -(2**31)}})
    for value in (2**31, str(2**31), "many"):
        assert "maxOutputTokens" in _refused({"model": MODEL,
                                              "generationConfig": {"maxOutputTokens": value}})


@pytest.mark.parametrize(("value", "ok"), [
    (0.7, True), ("0.7", True), ("1e-3", True), (".5", True), (3, True),
    ("NaN", False), ("Infinity", False), ("-Infinity", False), ("1e999", False),
    ("warm", False), (True, False), ("", False),
])
def test_float_fields_take_finite_numbers_or_numeric_strings(value: object, ok: bool) -> None:
    setup = {"model": MODEL, "generationConfig": {"temperature": value}}
    if ok:
        setupcheck.check_setup(setup)
    else:
        assert "temperature" in _refused(setup)


def _part(part: dict[str, Any]) -> dict[str, Any]:
    return {"model": MODEL, "systemInstruction": {"parts": [part]}}


@pytest.mark.parametrize(("data", "ok"), [
    ("aGk+Pz8/", True), ("aGk-Pz8_", True), ("aGk", True), ("aGk=", True), ("", True),
    ("aGk+P", False), ("aGk==", False), ("a b=", False), ("aGk=x", False), (5, False),
])
def test_bytes_are_base64_of_either_alphabet(data: object, ok: bool) -> None:
    setup = _part({"inlineData": {"mimeType": "image/png", "data": data}})
    if ok:
        setupcheck.check_setup(setup)
    else:
        assert "data" in _refused(setup)


@pytest.mark.parametrize(("offset", "ok"), [
    ("1.5s", True), ("0s", True), ("-2s", True), ("3.000000001s", True), ("10s", True),
    ("1.5", False), ("1.5 s", False), ("1.0000000001s", False), ("s", False), ("1m", False),
    (1.5, False), ("999999999999s", False),
])
def test_durations_are_protobuf_duration_strings(offset: object, ok: bool) -> None:
    setup = _part({"videoMetadata": {"startOffset": offset}})
    if ok:
        setupcheck.check_setup(setup)
    else:
        assert "startOffset" in _refused(setup)


@pytest.mark.parametrize("value", [2, "2", {"x": 1}, ["NO_INTERRUPTION"]])
def test_enums_stay_names_only(value: object) -> None:
    """Stricter than proto JSON (which takes numbers): as documented, numbers get 1007."""
    assert "activityHandling" in _refused(
        {"model": MODEL, "realtimeInputConfig": {"activityHandling": value}})
