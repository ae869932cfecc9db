from __future__ import annotations

from typing import Annotated, Literal

import pytest
from google.genai import types
from pydantic import Field

from livebus_tools import Registry, ToolContext, tool
from livebus_tools.declaration import parse_docstring
from livebus_tools.loader import build_registry
from livebus_tools.settings import ToolsSettings


@tool(timeout=3.5, behavior="NON_BLOCKING", scheduling="WHEN_IDLE")
async def book_room(
    ctx: ToolContext,
    room: str,
    people: Annotated[int, Field(ge=1, le=12)],
    floor: Literal["ground", "first"] = "ground",
    tags: list[str] | None = None,
    projector: bool = False,
) -> dict[str, str]:
    """Book a meeting room.

    Checks the calendar first.

    Args:
        room: The room's name, as on its door.
        people: How many people
            will attend.
        floor: Which floor.
        tags: Labels for the booking.

    Returns:
        The booking.
    """
    return {"room": room}


def test_declaration_from_a_typed_function() -> None:
    d = book_room.declaration()
    assert d["name"] == "book_room"
    assert d["description"] == "Book a meeting room. Checks the calendar first."
    assert d["behavior"] == "NON_BLOCKING"
    params = d["parametersJsonSchema"]
    assert params["type"] == "object"
    assert params["required"] == ["room", "people"]
    props = params["properties"]
    assert set(props) == {"room", "people", "floor", "tags", "projector"}  # no ctx
    assert props["room"] == {"type": "string", "description": "The room's name, as on its door."}
    assert props["people"]["type"] == "integer"
    assert (props["people"]["minimum"], props["people"]["maximum"]) == (1, 12)
    assert props["people"]["description"] == "How many people will attend."
    assert props["floor"]["enum"] == ["ground", "first"]
    assert props["tags"]["type"] == "array" and props["tags"]["items"] == {"type": "string"}
    assert props["projector"]["type"] == "boolean"
    assert "description" not in props["projector"]
    assert book_room.optional == {"floor", "tags", "projector"}
    assert book_room.context_param == "ctx"
    spec = book_room.spec()
    assert (spec["timeout_s"], spec["behavior"], spec["scheduling"]) == (3.5, "NON_BLOCKING",
                                                                         "WHEN_IDLE")


def test_declarations_are_valid_for_the_sdk() -> None:
    registry = build_registry(ToolsSettings(builtins=True))
    assert set(registry.tools) == {"get_current_time", "inventory_lookup", "remember", "recall"}
    for spec in [*registry.specs(), book_room.spec()]:
        fd = types.FunctionDeclaration.model_validate(spec["declaration"])
        assert fd.name and fd.description and fd.parameters_json_schema
    nb = types.FunctionDeclaration.model_validate(book_room.declaration())
    assert nb.behavior == types.Behavior.NON_BLOCKING


def test_a_tool_stays_callable() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert add(2, 3) == 5


def test_bad_declarations_are_refused() -> None:
    with pytest.raises(TypeError, match="type hint"):
        @tool
        def untyped(a) -> None:  # type: ignore[no-untyped-def]
            """No hint."""

    with pytest.raises(ValueError, match="tool name"):
        @tool(name="has.dot")
        def dotted() -> None:
            """Dots would split the subject."""

    with pytest.raises(ValueError, match="NON_BLOCKING"):
        @tool(scheduling="SILENT")
        def blocking_with_scheduling() -> None:
            """Scheduling needs NON_BLOCKING."""


def test_two_tools_with_one_name_are_refused() -> None:
    @tool(name="same")
    def one() -> None:
        """One."""

    @tool(name="same")
    def two() -> None:
        """Two."""

    with pytest.raises(ValueError, match="two tools"):
        Registry([one, two])


def test_user_modules_are_loaded_from_settings() -> None:
    registry = build_registry(ToolsSettings(builtins=False, modules="toolsamples"))
    assert "slow_echo" in registry.tools and "get_current_time" not in registry.tools
    with pytest.raises(ValueError, match="no @tool"):
        build_registry(ToolsSettings(builtins=False, modules=["json"]))


def test_docstring_without_sections() -> None:
    assert parse_docstring("Just text.\n\nMore text.") == ("Just text. More text.", {})
    assert parse_docstring(None) == ("", {})
