"""The whole stack as local processes: `make run` and the integration tests both use this.

Offline by default: without GEMINI_API_KEY an emulator is started and the bridges talk to it.
With GEMINI_API_KEY (and optionally GEMINI_BASE_URL, GEMINI_CA_FILE, GEMINI_API_VERSION) the
bridges talk to that upstream and no emulator runs.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from livebus import tls

from . import devca, procs
from .procs import Proc
from .supervisor import CrashLoop, Policy, Supervisor


class DevStackSettings(BaseSettings):
    """`make run` knobs (environment variables LIVEBUS_DEV_*; BRIDGES=N from make)."""

    model_config = SettingsConfigDict(env_prefix="LIVEBUS_DEV_", extra="ignore")

    dir: Path = Path(".livebus")
    host: str = "127.0.0.1"
    https_port: int = 8443
    http_port: int = 8080
    nats_port: int = 4250          # our own server; the machine may run another on 4222
    nats_url: str = ""             # use an existing NATS instead of starting one
    emulator_port: int = 9443
    bridges: int = 2
    bridge_health_port: int = 9100  # bridge i serves health on this + i
    gateways: int = 1
    samplers: int = 1
    sampler_health_port: int = 9200  # frame-sampler i serves health on this + i
    tools: int = 1
    tools_health_port: int = 9300   # tools replica i serves health on this + i
    gateway_health_port: int = 9400  # gateway i serves health and /metrics on this + i
    webrtc_port: int = 8643         # the WebRTC edge's WHIP endpoint (HTTPS); 0: no edge
    webrtc_health_port: int = 9500
    emulator_pace: float = 1.0
    dev_tokens: bool = True         # the gateway hands the local page a token


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _secret_file(path: Path) -> str:
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Stack:
    cfg: DevStackSettings
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    nats_url: str = ""
    api_key: str = ""
    emulator_url: str | None = None
    emulator_key: str = ""
    upstream_env: dict[str, str] = field(default_factory=dict)
    sampler_ports: list[int] = field(default_factory=list)  # frame-sampler i's health port

    @property
    def ca_file(self) -> Path:
        return self.cfg.dir / "ca.pem"

    def gateway_https(self, i: int = 0) -> str:
        return f"https://{self.cfg.host}:{self.cfg.https_port + i}"

    def gateway_http(self, i: int = 0) -> str:
        return f"http://{self.cfg.host}:{self.cfg.http_port + i}"

    def _log(self, name: str) -> Path:
        logs = self.cfg.dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        return logs / f"{name}.log"

    def _add(self, name: str, argv: list[str], env: dict[str, str]) -> Proc:
        p = Proc(name, argv, procs.child_env({**env, **self.extra_env}), self._log(name)).start()
        self.procs.append(p)
        return p

    def start(self) -> Stack:
        d = self.cfg.dir
        d.mkdir(parents=True, exist_ok=True)
        certs = devca.ensure_dev_certs(d)
        self.api_key = _secret_file(d / "api-key")
        token_secret_file = d / "token-secret"
        _secret_file(token_secret_file)
        client_ctx = tls.client_context(certs.ca)
        try:
            if self.cfg.nats_url:
                self.nats_url = self.cfg.nats_url
            else:
                nats = procs.nats_server(self.cfg.nats_port, d / "nats", self._log("nats")).start()
                self.procs.append(nats)
                procs.wait_tcp(self.cfg.nats_port)
                self.nats_url = f"nats://127.0.0.1:{self.cfg.nats_port}"

            upstream = {k: v for k, v in os.environ.items() if k.startswith("GEMINI_")}
            if not upstream.get("GEMINI_API_KEY"):
                self.emulator_key = _secret_file(d / "emulator-key")
                port = self.cfg.emulator_port
                emu = self._add("gemini-emulator", procs.python_module("livebus_emulator"), {
                    "LIVEBUS_EMULATOR_HOST": self.cfg.host,
                    "LIVEBUS_EMULATOR_PORT": str(port),
                    "LIVEBUS_EMULATOR_CERT_FILE": str(certs.cert),
                    "LIVEBUS_EMULATOR_KEY_FILE": str(certs.key),
                    "LIVEBUS_EMULATOR_API_KEYS": self.emulator_key,
                    "LIVEBUS_EMULATOR_PACE": str(self.cfg.emulator_pace),
                })
                self.emulator_url = f"https://{self.cfg.host}:{port}"
                procs.wait_http_ok(f"{self.emulator_url}/readyz", proc=emu, context=client_ctx)
                upstream = {
                    "GEMINI_API_KEY": self.emulator_key,
                    "GEMINI_BASE_URL": self.emulator_url,
                    "GEMINI_CA_FILE": str(certs.ca),
                    "GEMINI_API_VERSION": "v1beta",
                }
            tools = [self.start_tools(i) for i in range(self.cfg.tools)]
            for i, t in enumerate(tools):
                procs.wait_http_ok(f"http://{self.cfg.host}:{self.cfg.tools_health_port + i}"
                                   "/readyz", proc=t)
            samplers = [self.start_sampler(i) for i in range(self.cfg.samplers)]
            self.upstream_env = upstream
            bridges = [self.start_bridge(i, upstream) for i in range(self.cfg.bridges)]
            gateways = [self.start_gateway(i, certs, token_secret_file)
                        for i in range(self.cfg.gateways)]
            for s, port in samplers:
                procs.wait_http_ok(f"http://{self.cfg.host}:{port}/readyz", proc=s)
            for i, b in enumerate(bridges):
                procs.wait_http_ok(f"http://{self.cfg.host}:{self.cfg.bridge_health_port + i}"
                                   "/readyz", proc=b)
            for i, g in enumerate(gateways):
                procs.wait_http_ok(f"{self.gateway_http(i)}/readyz", proc=g)
            if self.cfg.webrtc_port:
                edge = self.start_webrtc(certs, token_secret_file)
                procs.wait_http_ok(f"http://{self.cfg.host}:{self.cfg.webrtc_health_port}/readyz",
                                   proc=edge)
        except BaseException:
            self.stop()
            raise
        return self

    def start_bridge(self, i: int, upstream: dict[str, str], instance: str = "") -> Proc:
        """Bridge i (health port base + i); `instance` names a replacement of a dead one."""
        instance = instance or f"bridge-{i}"
        return self._add(f"gemini-{instance}", procs.python_module("livebus_bridge"),
                         self.bridge_env(i, upstream, instance))

    def bridge_env(self, i: int, upstream: dict[str, str], instance: str) -> dict[str, str]:
        return {
            **upstream,
            "LIVEBUS_BRIDGE_NATS_URL": self.nats_url,
            "LIVEBUS_BRIDGE_HEALTH_HOST": self.cfg.host,
            "LIVEBUS_BRIDGE_HEALTH_PORT": str(self.cfg.bridge_health_port + i),
            "LIVEBUS_BRIDGE_INSTANCE_ID": instance,
        }

    def bridge_ready(self, i: int, proc: Proc) -> None:
        procs.wait_http_ok(f"http://{self.cfg.host}:{self.cfg.bridge_health_port + i}/readyz",
                           proc=proc)

    def start_tools(self, i: int) -> Proc:
        # Other LIVEBUS_TOOLS_* settings (MODULES, INVENTORY_DSN, ...) pass through from the
        # environment.
        env = {
            "LIVEBUS_TOOLS_NATS_URL": self.nats_url,
            "LIVEBUS_TOOLS_HEALTH_HOST": self.cfg.host,
            "LIVEBUS_TOOLS_HEALTH_PORT": str(self.cfg.tools_health_port + i),
            "LIVEBUS_TOOLS_INSTANCE_ID": f"tools-{i}",
        }
        return self._add(f"tools-{i}", procs.python_module("livebus_tools"), env)

    def start_sampler(self, i: int) -> tuple[Proc, int]:
        port = self.cfg.sampler_health_port + i
        if not _port_free(self.cfg.host, port):  # e.g. tests that leave this at the default
            port = procs.free_port()
        self.sampler_ports.append(port)
        env = {
            "LIVEBUS_SAMPLER_NATS_URL": self.nats_url,
            "LIVEBUS_SAMPLER_HEALTH_HOST": self.cfg.host,
            "LIVEBUS_SAMPLER_HEALTH_PORT": str(port),
            "LIVEBUS_SAMPLER_INSTANCE_ID": f"sampler-{i}",
        }
        return self._add(f"frame-sampler-{i}", procs.python_module("livebus_sampler"), env), port

    def start_gateway(self, i: int, certs: devca.DevCerts, token_secret_file: Path) -> Proc:
        env = {
            "LIVEBUS_GATEWAY_NATS_URL": self.nats_url,
            "LIVEBUS_GATEWAY_HOST": self.cfg.host,
            "LIVEBUS_GATEWAY_HTTPS_PORT": str(self.cfg.https_port + i),
            "LIVEBUS_GATEWAY_HTTP_PORT": str(self.cfg.http_port + i),
            "LIVEBUS_GATEWAY_HEALTH_PORT": str(self.cfg.gateway_health_port + i),
            "LIVEBUS_GATEWAY_CERT_FILE": str(certs.cert),
            "LIVEBUS_GATEWAY_KEY_FILE": str(certs.key),
            "LIVEBUS_GATEWAY_API_KEY_FILE": str(self.cfg.dir / "api-key"),
            "LIVEBUS_GATEWAY_TOKEN_SECRET_FILE": str(token_secret_file),
            "LIVEBUS_GATEWAY_INSTANCE_ID": f"gateway-{i}",
            "LIVEBUS_GATEWAY_DEV_TOKENS": "true" if self.cfg.dev_tokens else "false",
            # The page's WebRTC transport goes to the edge (which allows its origin, CORS).
            "LIVEBUS_GATEWAY_WEBRTC_WHIP_URL": self.webrtc_whip() if self.cfg.webrtc_port else "",
        }
        return self._add(f"gateway-{i}", procs.python_module("livebus_gateway"), env)

    def webrtc_whip(self) -> str:
        return f"https://{self.cfg.host}:{self.cfg.webrtc_port}/whip"

    def start_webrtc(self, certs: devca.DevCerts, token_secret_file: Path) -> Proc:
        """The WebRTC edge; the gateways' pages may POST offers to it (CORS)."""
        pages = [self.gateway_http(i) for i in range(self.cfg.gateways)]
        pages += [p.replace(self.cfg.host, "localhost") for p in pages]
        env = {
            "LIVEBUS_WEBRTC_NATS_URL": self.nats_url,
            "LIVEBUS_WEBRTC_HOST": self.cfg.host,
            "LIVEBUS_WEBRTC_HTTPS_PORT": str(self.cfg.webrtc_port),
            "LIVEBUS_WEBRTC_HEALTH_PORT": str(self.cfg.webrtc_health_port),
            "LIVEBUS_WEBRTC_CERT_FILE": str(certs.cert),
            "LIVEBUS_WEBRTC_KEY_FILE": str(certs.key),
            "LIVEBUS_WEBRTC_API_KEY_FILE": str(self.cfg.dir / "api-key"),
            "LIVEBUS_WEBRTC_TOKEN_SECRET_FILE": str(token_secret_file),
            "LIVEBUS_WEBRTC_INSTANCE_ID": "webrtc-0",
            "LIVEBUS_WEBRTC_ALLOWED_ORIGINS": ",".join(pages),
        }
        return self._add("webrtc-edge", procs.python_module("livebus_webrtc"), env)

    def stop(self) -> None:
        # Reverse order: clients' edge first, NATS last.
        for p in reversed(self.procs):
            p.stop()
        self.procs.clear()


def banner(stack: Stack) -> str:
    """What `make run` prints once the stack is up: where each endpoint is."""
    services = (f"{stack.cfg.gateways} gateway, {stack.cfg.bridges} gemini-bridge, "
                f"{stack.cfg.samplers} frame-sampler, {stack.cfg.tools} tools"
                + (", 1 webrtc-edge" if stack.cfg.webrtc_port else ""))
    upstream = "the offline Gemini Live emulator at " + str(stack.emulator_url) \
        if stack.emulator_url else "the upstream in GEMINI_BASE_URL (or Google)"
    webrtc = f"  WebRTC (WHIP)  {stack.webrtc_whip()}\n" if stack.cfg.webrtc_port else ""
    return f"""
livebus is running ({len(stack.procs)} processes, logs in {stack.cfg.dir}/logs):

  web page       {stack.gateway_http()}/
  Gemini Live    {stack.gateway_https()}   (TLS; trust {stack.ca_file})
{webrtc}  server key     {stack.cfg.dir}/api-key
  upstream       {upstream}
  NATS           {stack.nats_url}
  services       {services}

  .venv/bin/python examples/converse.py   talks to it with the google-genai SDK

Ctrl-C stops everything; a process that exits is restarted (pids in {stack.cfg.dir}/pids).
"""


def main() -> None:
    cfg = DevStackSettings()
    if os.environ.get("BRIDGES"):
        cfg.bridges = int(os.environ["BRIDGES"])
    print("starting livebus ...", flush=True)
    stack = Stack(cfg).start()
    print(banner(stack), flush=True)
    sys.exit(supervise(stack))


def supervise(stack: Stack) -> int:
    """Restart what exits until Ctrl-C/SIGTERM (0) or a crash loop (1); then stop the stack."""
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    sup = Supervisor(stack.procs, time.monotonic(), lambda line: print(line, flush=True),
                     Policy(), stack.cfg.dir / "pids")
    code = 0
    try:
        while not done.wait(0.1):
            sup.check(time.monotonic())
    except CrashLoop as e:
        print(e, file=sys.stderr, flush=True)
        code = 1
    print("stopping livebus ...", flush=True)
    stack.stop()
    sup.close()
    print("stopped.", flush=True)
    return code


if __name__ == "__main__":
    main()
