"""What the client receives of a server message: the upstream's own JSON, not a re-serialisation.

The SDK's models rename fields when dumped (`voiceActivity.type` -> `voiceActivityType`) and drop
the ones its version does not know, so the bridge relays the upstream's parsed JSON instead, minus
what it must take out: reply audio (sent raw), server tools' calls and their cancellations. Fields
are read in the upstream's spelling (camelCase) or snake_case; everything else is left as it came.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.genai import types

Wire = dict[str, Any]


def field(obj: Wire, camel: str) -> tuple[str, Any]:
    """The key `obj` uses for a field (camelCase or snake_case) and its value (None if absent)."""
    if camel in obj:
        return camel, obj[camel]
    snake = "".join("_" + c.lower() if c.isupper() else c for c in camel)
    return snake, obj.get(snake)


def is_audio_part(part: Any) -> bool:
    """The criterion split_audio uses on the SDK's parts: inline data with audio and data."""
    if not isinstance(part, dict):
        return False
    _, blob = field(part, "inlineData")
    if not isinstance(blob, dict):
        return False
    _, mime = field(blob, "mimeType")
    return isinstance(mime, str) and mime.startswith("audio/") and bool(blob.get("data"))


def without_audio(wire: Wire) -> None:
    """Remove reply audio parts in place (a model turn left empty goes, and so does an empty
    serverContent)."""
    sc_key, sc = field(wire, "serverContent")
    if not isinstance(sc, dict):
        return
    turn_key, turn = field(sc, "modelTurn")
    if not isinstance(turn, dict):
        return
    parts_key, parts = field(turn, "parts")
    if not isinstance(parts, list) or not any(is_audio_part(p) for p in parts):
        return
    rest = [p for p in parts if not is_audio_part(p)]
    if rest:
        turn[parts_key] = rest
    else:
        del sc[turn_key]
    if not sc:
        del wire[sc_key]


def keep_client_calls(wire: Wire, is_server: Callable[[str | None], bool]) -> None:
    """Only the calls that belong to the client stay in toolCall.functionCalls."""
    _, call = field(wire, "toolCall")
    if not isinstance(call, dict):
        return
    calls_key, calls = field(call, "functionCalls")
    if isinstance(calls, list):
        call[calls_key] = [c for c in calls
                           if not (isinstance(c, dict) and is_server(c.get("name")))]


def keep_client_ids(wire: Wire, client_ids: list[str]) -> None:
    """toolCallCancellation names only the client's calls."""
    _, cancel = field(wire, "toolCallCancellation")
    if isinstance(cancel, dict):
        ids_key, _ = field(cancel, "ids")
        cancel[ids_key] = list(client_ids)


def client_view(wire: Wire, *, is_server: Callable[[str | None], bool],
                cancelled_client_ids: list[str] | None) -> Wire | None:
    """The message as the client gets it (None when nothing is left). Modifies `wire`."""
    without_audio(wire)
    keep_client_calls(wire, is_server)
    if cancelled_client_ids is not None:
        keep_client_ids(wire, cancelled_client_ids)
    return wire or None


def audio_of(msg: types.LiveServerMessage) -> list[types.Blob]:
    """The reply audio of a parsed message (what without_audio takes out of its JSON)."""
    sc = msg.server_content
    if sc is None or sc.model_turn is None:
        return []
    return [p.inline_data for p in sc.model_turn.parts or []
            if p.inline_data is not None and p.inline_data.data
            and (p.inline_data.mime_type or "").startswith("audio/")]
