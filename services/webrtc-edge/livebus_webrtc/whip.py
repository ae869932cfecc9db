"""WHIP (RFC 9725) signalling: `POST /whip` answers an SDP offer with `201 Created` and a
`Location` whose `DELETE` ends the session. No trickle (`PATCH` is refused): the answer carries
every candidate. Who may open a session is the starter's decision (credential, admission); it
raises Refused with the HTTP status to answer.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from livebus import health
from livebus.health import ReadyCheck

from . import metrics
from .peer import BadOffer, Peer, check_offer
from .settings import WebRTCSettings

log = logging.getLogger(__name__)

SDP = "application/sdp"


class Refused(Exception):
    """The session may not open: `status` and a message safe to show the client."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


# Given the credential and the new peer: admit it and start its session (as a task of its own,
# ending when the peer closes), or raise Refused.
Starter = Callable[[str, Peer], Awaitable[None]]


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


async def _body(request: Request, limit: int, within_s: float) -> bytes:
    body = bytearray()
    async with asyncio.timeout(within_s):
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, f"the offer is larger than {limit} bytes")
    return bytes(body)


class Whip:
    def __init__(self, settings: WebRTCSettings, start: Starter) -> None:
        self.settings = settings
        self.start = start
        self.peers: dict[str, Peer] = {}
        self.closing = False  # draining: no new sessions here

    def _foreign(self, request: Request) -> bool:
        """A browser's request from a page whose origin is not allowed (other clients send no
        Origin)."""
        origin = request.headers.get("origin")
        return origin is not None and origin not in self.settings.allowed_origins

    def _cors(self, request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin and origin in self.settings.allowed_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "Location"
            response.headers["Vary"] = "Origin"
        return response

    def _refuse(self, request: Request, e: Refused) -> Response:
        metrics.WHIP_REQUESTS.labels(str(e.status)).inc()
        response = PlainTextResponse(e.message + "\n", status_code=e.status)
        if e.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        if e.retry_after_s is not None:
            response.headers["Retry-After"] = str(e.retry_after_s)
        return self._cors(request, response)

    async def post(self, request: Request) -> Response:
        try:
            return await self._post(request)
        except Refused as e:
            return self._refuse(request, e)

    async def _post(self, request: Request) -> Response:
        if self._foreign(request):
            raise Refused(403, "this page's origin may not open sessions here")
        if self.closing:
            raise Refused(503, "this edge is shutting down", self.settings.busy_retry_after_s)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != SDP:
            raise Refused(415, f"the offer must be {SDP}")
        credential = bearer(request)
        if credential is None:
            raise Refused(401, "an Authorization: Bearer credential is required")
        try:
            offer = (await _body(request, self.settings.max_sdp_bytes,
                                 self.settings.request_timeout_s)).decode()
            check_offer(offer)
        except TimeoutError:
            raise Refused(408, "the offer did not arrive in time") from None
        except (UnicodeDecodeError, BadOffer) as e:
            raise Refused(400, str(e) if isinstance(e, BadOffer) else "not UTF-8") from None
        peer = Peer(self.settings)
        try:
            await self.start(credential, peer)
            answer = await peer.answer(offer)
        except BaseException as e:
            await peer.close()
            if isinstance(e, BadOffer):
                raise Refused(400, str(e)) from None
            raise
        resource = secrets.token_urlsafe(16)
        self.peers[resource] = peer
        asyncio.get_running_loop().create_task(self._watch(resource, peer))
        metrics.WHIP_REQUESTS.labels("201").inc()
        response = Response(answer, status_code=201, media_type=SDP,
                            headers={"Location": f"/whip/{resource}"})
        return self._cors(request, response)

    async def _watch(self, resource: str, peer: Peer) -> None:
        """Forget the peer once closed; close it if ICE never connects."""
        metrics.PEERS.inc()
        try:
            try:
                await asyncio.wait_for(_connected(peer), self.settings.ice_timeout_s)
            except TimeoutError:
                log.info("peer did not connect in %ss", self.settings.ice_timeout_s)
                await peer.close()
            await peer.closed.wait()
        finally:
            self.peers.pop(resource, None)
            metrics.PEERS.dec()

    async def delete(self, request: Request) -> Response:
        if self._foreign(request):
            return _forbidden()
        peer = self.peers.pop(request.path_params["resource"], None)
        if peer is None:
            return self._cors(request, PlainTextResponse("no such session\n", status_code=404))
        await peer.close()
        return self._cors(request, Response(status_code=200))

    async def not_supported(self, request: Request) -> Response:
        return self._cors(request, PlainTextResponse("trickle ICE is not supported\n",
                                                     status_code=405))

    async def preflight(self, request: Request) -> Response:
        if self._foreign(request) or "origin" not in request.headers:
            return _forbidden()
        response = self._cors(request, Response(status_code=204))
        response.headers["Access-Control-Allow-Methods"] = "POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response


def _forbidden() -> Response:
    metrics.WHIP_REQUESTS.labels("403").inc()
    return PlainTextResponse("this page's origin is not allowed\n", status_code=403)


async def _connected(peer: Peer) -> None:
    while peer.pc.connectionState not in ("connected", "failed", "closed"):
        await asyncio.sleep(0.05)


def create_app(settings: WebRTCSettings, start: Starter, ready: ReadyCheck) -> tuple[Starlette,
                                                                                      Whip]:
    whip = Whip(settings, start)
    routes = [r for r in health.routes(ready) if getattr(r, "path", "") != "/metrics"]
    routes += [
        Route("/whip", whip.post, methods=["POST"]),
        Route("/whip", whip.preflight, methods=["OPTIONS"]),
        Route("/whip/{resource}", whip.delete, methods=["DELETE"]),
        Route("/whip/{resource}", whip.not_supported, methods=["PATCH"]),
        Route("/whip/{resource}", whip.preflight, methods=["OPTIONS"]),
    ]
    return Starlette(routes=routes), whip
