"""livebus_dev.testing.netrelay: a thread inside a namespace, and a relay across the link."""

from __future__ import annotations

import socket
import threading

import pytest

from livebus_dev.testing import netns
from livebus_dev.testing.netrelay import Relay, entered


def _echo_once(server: socket.socket) -> None:
    conn, _ = server.accept()
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)


def test_entered_runs_the_thread_inside_and_returns_it_after() -> None:
    with netns.one() as ns:
        with pytest.raises(OSError):  # the test address exists only inside the namespace
            socket.create_server((ns.address, 0)).close()
        with entered(ns):
            socket.create_server((ns.address, 0)).close()
        with pytest.raises(OSError):
            socket.create_server((ns.address, 0)).close()


def test_a_relay_carries_both_directions_from_the_client_loopback_to_the_server() -> None:
    with netns.pair() as p:
        with entered(p.server):  # a server on the server namespace's own loopback
            server = socket.create_server(("127.0.0.1", 0))
        port = server.getsockname()[1]
        threading.Thread(target=_echo_once, args=(server,), daemon=True).start()
        with Relay(p.server, (p.server.address, port), p.server, ("127.0.0.1", port)), \
                Relay(p.client, ("127.0.0.1", port), p.client, (p.server.address, port)):
            with entered(p.client):  # the client dials its own loopback, as a page does
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            payload = bytes(range(256)) * 1000
            with conn:
                conn.sendall(payload)
                conn.shutdown(socket.SHUT_WR)
                got = b""
                while data := conn.recv(65536):
                    got += data
            assert got == payload
        server.close()
