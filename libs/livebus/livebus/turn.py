"""Time-limited TURN credentials, as coturn checks them with `use-auth-secret`.

The username is `<expiry unix time>:<label>` and the password base64(HMAC-SHA1(secret, username))
(the "TURN REST API" scheme coturn, Janus and most TURN servers share), so the TURN server needs
only the shared secret and the edge hands a client a credential that stops working at its
expiry. The label is a digest, not a user's name: TURN servers log usernames.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

SCHEMES = ("turn:", "turns:", "stun:")


def valid_url(url: str) -> bool:
    """A `turn:`, `turns:` or `stun:` URI (RFC 7064/7065) with no whitespace or quotes."""
    return url.startswith(SCHEMES) and len(url) <= 512 \
        and not any(c.isspace() or c in "\"'<>" for c in url)


def credential(secret: str, label: str, ttl_s: float, now: float | None = None) -> tuple[str,
                                                                                          str]:
    """(username, password) valid for `ttl_s` from `now`."""
    expiry = int((time.time() if now is None else now) + ttl_s)
    digest = hashlib.sha256(label.encode()).hexdigest()[:16]
    username = f"{expiry}:{digest}"
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode()


def ice_servers(urls: list[str], secret: str, label: str, ttl_s: float,
                now: float | None = None) -> list[dict[str, Any]]:
    """The RTCIceServer entries for a client: STUN URLs as they are, TURN URLs with one minted
    credential (none without a secret)."""
    stun = [u for u in urls if u.startswith("stun:")]
    turn = [u for u in urls if not u.startswith("stun:")]
    servers: list[dict[str, Any]] = [{"urls": stun}] if stun else []
    if turn and secret:
        username, password = credential(secret, label, ttl_s, now)
        servers.append({"urls": turn, "username": username, "credential": password})
    return servers
