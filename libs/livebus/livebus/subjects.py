"""Every NATS subject and queue group livebus uses. No subject string exists anywhere else.

Per-session subjects carry the session id as one token. Uplink audio and control share a
prefix so the bridge reads them through one subscription, in the order the gateway sent them;
downlink audio and events likewise, so `interrupted` never overtakes the audio it cuts.
Video has its own subjects (and its own connections) so a frame never delays a word.
"""

from __future__ import annotations

ROOT = "livebus"

# gateway -> any bridge (request/reply): open an upstream session.
BRIDGE_OPEN = f"{ROOT}.bridge.open"
BRIDGE_QUEUE = "bridges"

# gateway -> frame-sampler: raw client frames; frame-sampler -> bridge: sampled frames.
SAMPLER_QUEUE = "samplers"
# bridge -> any frame-sampler (request/reply): downsize an uploaded still (client content image).
SAMPLER_STILL = f"{ROOT}.sampler.still"

# JetStream key-value buckets.
KV_TOKEN_USES = "livebus_token_uses"


def up_prefix(session_id: str) -> str:
    return f"{ROOT}.up.{session_id}"


def up_all(session_id: str) -> str:
    """Wildcard for a session's ordered uplink (audio + control)."""
    return f"{up_prefix(session_id)}.*"


# Audio payloads are livebus.audioframe version 1; a new layout gets a new token, so a gateway
# and a bridge of different versions drop each other's audio instead of misreading it.
_AUDIO = "audio1"


def up_audio(session_id: str) -> str:
    return f"{up_prefix(session_id)}.{_AUDIO}"


def up_ctl(session_id: str) -> str:
    return f"{up_prefix(session_id)}.ctl"


def down_prefix(session_id: str) -> str:
    return f"{ROOT}.down.{session_id}"


def down_all(session_id: str) -> str:
    """Wildcard for a session's ordered downlink (audio + events)."""
    return f"{down_prefix(session_id)}.*"


def down_audio(session_id: str) -> str:
    return f"{down_prefix(session_id)}.{_AUDIO}"


def down_event(session_id: str) -> str:
    return f"{down_prefix(session_id)}.event"


def video_raw(session_id: str) -> str:
    """Frames as the client sent them (gateway -> frame-sampler)."""
    return f"{ROOT}.video.raw.{session_id}"


VIDEO_RAW_ALL = f"{ROOT}.video.raw.*"


def speech(session_id: str) -> str:
    """Who is speaking in the session (bridge -> frame-samplers, payload a `Speech`)."""
    return f"{ROOT}.speech.{session_id}"


SPEECH_ALL = f"{ROOT}.speech.*"


def video_sampled(session_id: str) -> str:
    """Frames ready for the model (frame-sampler -> bridge)."""
    return f"{ROOT}.video.sampled.{session_id}"


def is_audio(subject: str) -> bool:
    return subject.endswith(f".{_AUDIO}")


# bridge -> tools (request/reply, queue group "tools"): run one function call. One subject per
# tool name, so a replica only receives the tools it serves and an unknown tool has no responders.
TOOLS_QUEUE = "tools"
TOOLS_LIST = f"{ROOT}.tools.list"      # request/reply: every declaration the tools service serves
TOOLS_CANCEL = f"{ROOT}.tools.cancel"  # broadcast (no queue group): cancel running call ids
KV_TOOL_NOTES = "livebus_tool_notes"   # the `remember`/`recall` notes, one key per user


def tool_call(name: str) -> str:
    """Where a call of tool `name` is requested (the name is one subject token: no dots)."""
    return f"{ROOT}.tools.call.{name}"


# frame-sampler replicas heartbeat here (bucket TTL = liveness); sessions go by rendezvous hash.
KV_SAMPLER_MEMBERS = "livebus_sampler_members"


def kv_stream(bucket: str) -> str:
    """The JetStream stream behind a key-value bucket (JetStream's naming)."""
    return f"KV_{bucket}"


def kv_key(bucket: str, key: str) -> str:
    """The subject a bucket's key is stored under; kv_key(bucket, ">") is all of them."""
    return f"$KV.{bucket}.{key}"


# JetStream stream holding every session's shadow log, one subject per session.
SHADOW_STREAM = "LIVEBUS_SHADOW"
SHADOW_ALL = f"{ROOT}.shadow.*"


def shadow(session_id: str) -> str:
    return f"{ROOT}.shadow.{session_id}"


# Every bridge says it is alive here (subject per bridge) several times a second.
BRIDGE_ALIVE_ALL = f"{ROOT}.bridge.alive.*"


def bridge_alive(bridge_id: str) -> str:
    return f"{ROOT}.bridge.alive.{token(bridge_id)}"


def token(name: str) -> str:
    """A name (a host name may hold dots) made safe as one subject token."""
    return name.replace(".", "_").replace("*", "_").replace(">", "_").replace(" ", "_")


def session_release(session_id: str) -> str:
    """A bridge taking a session over asks its current owner, if alive, to let go."""
    return f"{ROOT}.release.{session_id}"


def session_attached(session_id: str) -> str:
    """A gateway attached a client socket to the session (payload: its connection id); any
    other socket still attached to the session closes (the session moved to the new one)."""
    return f"{ROOT}.attached.{session_id}"


# KV: who owns each session (a lease that expires unless renewed), and what a new owner needs.
KV_SESSION_LEASES = "livebus_session_leases"
KV_SESSIONS = "livebus_sessions"

# KV: token usage per UTC day, user and session opening (livebus/usage.py).
KV_USAGE = "livebus_usage"


# Acknowledgements and gap requests of a session's control events (livebus/reliable.py):
# the bridge acks uplink control, the gateway acks downlink events.
def ack_up(session_id: str) -> str:
    return f"{ROOT}.ack.up.{session_id}"


def ack_down(session_id: str) -> str:
    return f"{ROOT}.ack.down.{session_id}"


def stream_leader_stepdown(stream: str) -> str:
    """JetStream's API: the stream's leader steps down and another replica is elected (tests
    use it to place leaders on chosen nodes)."""
    return f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}"
