"""What one conversation knows across its upstream connections."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Conversation:
    handle: str | None = None        # the latest resumption handle
    in_turn: bool = False            # the model is replying (or a tool call is open)
    prompt_tokens: int = 0           # the latest prompt size the upstream reported
    resumed_check: bool = False      # compare the next prompt size against the one before
    context_lost: bool = False       # a resumed context collapsed: rebuild
    ctl_sent: int = 0                # seq of the last client control event sent upstream
    ctl_logged: int = 0              # every control event up to this seq is in the shadow log
    client_wants_handles: bool = False  # the client asked for resumption itself
