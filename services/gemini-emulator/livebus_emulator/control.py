"""HTTP control API under /control: what each connection received, and levers for tests.

No auth: the emulator is a dev/test peer and listens on loopback by default.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from livebus_emulator.records import ConnectionRecord, LiveControl
from livebus_emulator.state import EmulatorState

# Close codes an endpoint may send (RFC 6455 7.4): not 1004-1006 nor 1015.
_SENDABLE = {1000, 1001, 1002, 1003, *range(1007, 1015)}


class GoAwayBody(BaseModel):
    time_left_s: float | None = Field(default=None, ge=0)
    close: bool = True  # close with 1008 when time_left_s has passed


class DropBody(BaseModel):
    code: int = 1011
    reason: str = ""


class TranscriptBody(BaseModel):
    text: str


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _record(state: EmulatorState, connection_id: str) -> ConnectionRecord:
    record = state.registry.records.get(connection_id)
    if record is None:
        raise HTTPException(404, f"no connection {connection_id}")
    return record


def _live(state: EmulatorState, connection_id: str) -> LiveControl:
    _record(state, connection_id)
    control = state.registry.live.get(connection_id)
    if control is None:
        raise HTTPException(409, f"connection {connection_id} is closed")
    return control


router = APIRouter(prefix="/control")


@router.get("/connections")
async def connections(request: Request) -> dict[str, Any]:
    records = _state(request).registry.records.values()
    return {"connections": [r.summary() for r in records if r.open]}


@router.get("/connections/{connection_id}")
async def connection(request: Request, connection_id: str) -> dict[str, Any]:
    return _record(_state(request), connection_id).detail()


@router.get("/sessions")
async def sessions(request: Request) -> dict[str, Any]:
    return {"sessions": [r.detail() for r in _state(request).registry.records.values()]}


@router.post("/connections/{connection_id}/goaway")
async def go_away(request: Request, connection_id: str,
                  body: GoAwayBody | None = None) -> dict[str, Any]:
    body = body or GoAwayBody()
    await _live(_state(request), connection_id).go_away(body.time_left_s, body.close)
    return {"ok": True}


@router.post("/connections/{connection_id}/drop")
async def drop(request: Request, connection_id: str,
               body: DropBody | None = None) -> dict[str, Any]:
    body = body or DropBody()
    if body.code not in _SENDABLE and not 3000 <= body.code <= 4999:
        raise HTTPException(400, f"close code {body.code} cannot be sent")
    await _live(_state(request), connection_id).drop(body.code, body.reason)
    return {"ok": True}


@router.post("/connections/{connection_id}/transcript")
async def transcript(request: Request, connection_id: str,
                     body: TranscriptBody) -> dict[str, Any]:
    _live(_state(request), connection_id).set_transcript(body.text)
    return {"ok": True}


@router.post("/transcript")
async def next_transcript(request: Request, body: TranscriptBody) -> dict[str, Any]:
    """The next speech turn of any connection (without its own override) is transcribed so."""
    _state(request).registry.pending_transcripts.append(body.text)
    return {"ok": True}


@router.post("/amnesia")
async def amnesia(request: Request) -> dict[str, Any]:
    """The next resume keeps its handle but loses the conversation (context collapse)."""
    _state(request).amnesia = True
    return {"ok": True}


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    _state(request).reset()
    return {"ok": True}
