"""Threads inside test network namespaces, and a plain TCP relay between two addresses.

`entered(ns)` moves the calling thread into a namespace made by `netns` for the length of a
block: sockets, threads and processes it creates meanwhile stay in that namespace (a socket
keeps the namespace it was made in). A `Relay` listens in one namespace and connects in
another, so a page that talks to 127.0.0.1:PORT in the client namespace reaches a server on
127.0.0.1:PORT in the server namespace across the shaped veth link (`netns.pair(rate=...)`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import threading
from collections.abc import Iterator

from .netns import Namespace

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_CHUNK = 64 * 1024


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def entered(ns: Namespace) -> Iterator[None]:
    """The calling thread runs inside `ns` until the block ends (then where it was before)."""
    with open("/proc/thread-self/ns/net", "rb") as home, \
            open(f"/run/netns/{ns.name}", "rb") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


def _pump(src: socket.socket, dst: socket.socket) -> None:
    """Copy src to dst until src ends, then half-close dst (the other direction goes on)."""
    with contextlib.suppress(OSError):
        while data := src.recv(_CHUNK):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class Relay:
    """Accepts on `listen` (inside `listen_ns`) and relays each connection to `target` (dialled
    inside `target_ns`), byte for byte, Nagle off on both legs (a relay adds no delay)."""

    def __init__(self, listen_ns: Namespace, listen: tuple[str, int],
                 target_ns: Namespace, target: tuple[str, int]) -> None:
        self.target = target
        self._target_ns = target_ns
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        with entered(listen_ns):
            self._server = socket.create_server(listen, reuse_port=False)
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name=f"relay-{listen[1]}")

    def __enter__(self) -> Relay:
        with entered(self._target_ns):  # its dials (and their threads) are in the target's
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
            c.close()
        self._thread.join(5)

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self._server.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.target, timeout=10)
            except OSError:
                down.close()
                continue
            up.settimeout(None)
            for s in (down, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns += [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()
