"""A real stack and a real headless Chromium with a fake camera and microphone."""

from __future__ import annotations

import base64
import hashlib
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Browser, Page, sync_playwright

from livebus import tls
from livebus_dev.devstack import Stack
from livebus_dev.testing.stack import running_stack

from .media import write_wav, write_y4m

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# What the fake microphone says: a short pause, 1.5 s of speech, then silence.
SPEECH_S = 1.5
MIC_SCRIPT = [("silence", 0.4), ("speech", SPEECH_S), ("silence", 30.0)]

FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


def spki_hash(stack: Stack) -> str:
    """The dev certificate's key as --ignore-certificate-errors-spki-list takes it (base64 of
    the SHA-256 of its SubjectPublicKeyInfo): Chromium trusts that one key, nothing else."""
    cert = x509.load_pem_x509_certificate((stack.cfg.dir / "server.pem").read_bytes())
    der = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@contextmanager
def chromium_in(ns_name: str, media: Path, grain: float = 0.0,
                mic: list[tuple[str, float]] | None = None,
                args: Sequence[str] = ()) -> Iterator[Browser]:
    """Chromium with the fake devices, inside network namespace `ns_name`: Playwright launches
    a wrapper that runs it under `ip netns exec`, and talks to it over the inherited pipes.
    `mic` is what the microphone says (MIC_SCRIPT unless given); `args` more flags."""
    wav = write_wav(media / "mic.wav", mic or MIC_SCRIPT)
    y4m = write_y4m(media / "camera.y4m", grain=grain)
    wrapper = media / "chromium-in-ns"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {ns_name} {CHROMIUM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(wrapper), args=[
            *FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop",
            f"--use-file-for-fake-video-capture={y4m}", *args,
        ])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as s:
        yield s


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    media = tmp_path_factory.mktemp("media")
    wav = write_wav(media / "mic.wav", MIC_SCRIPT)
    y4m = write_y4m(media / "camera.y4m")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            *FLAGS,
            f"--use-file-for-fake-audio-capture={wav}%noloop",
            f"--use-file-for-fake-video-capture={y4m}",
        ])
        try:
            yield b
        finally:
            b.close()


# Every page in these tests records the CSP violations it meets (the gateway serves the page with
# pageheaders.CSP); the listener is added before any of the page's own scripts run (Playwright
# injects it through the DevTools protocol, which the policy does not govern).
RECORD_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push({
  directive: e.effectiveDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber,
  sample: e.sample}));
"""


def csp_violations(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate("() => window.__cspViolations ?? []"))


@contextmanager
def checked_page(browser: Browser, *init_scripts: str) -> Iterator[Page]:
    """A page in a fresh context, with RECORD_CSP and `init_scripts` run before its own; on the
    way out, no page errors and no CSP violations (reported or logged)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    for script in (RECORD_CSP, *init_scripts):
        context.add_init_script(script)
    pg = context.new_page()
    errors: list[str] = []
    blocked: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: blocked.append(m.text)
          if "Content Security Policy" in m.text else None)
    try:
        yield pg
        violations = csp_violations(pg) if not pg.is_closed() else []
    finally:
        context.close()
    assert not errors, f"errors in the page: {errors}"
    assert not violations and not blocked, f"CSP violations: {violations} {blocked}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with checked_page(browser) as pg:
        yield pg


class Emulator:
    """What the emulator received, through its control API."""

    def __init__(self, stack: Stack) -> None:
        assert stack.emulator_url is not None
        self.client = httpx.Client(base_url=stack.emulator_url,
                                   verify=tls.client_context(stack.ca_file), timeout=10)

    def sessions(self) -> list[dict[str, Any]]:
        r = self.client.get("/control/sessions")
        r.raise_for_status()
        data = r.json()
        return list(data["sessions"] if isinstance(data, dict) else data)

    def latest(self) -> dict[str, Any]:
        """The most recently opened connection."""
        sessions = self.sessions()
        assert sessions, "the emulator saw no session"
        return max(sessions, key=lambda s: s["started"])

    def count(self) -> int:
        return len(self.sessions())


@pytest.fixture
def emulator(stack: Stack) -> Iterator[Emulator]:
    e = Emulator(stack)
    try:
        yield e
    finally:
        e.client.close()


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The stack with the webrtc-edge in a network namespace, for a module (rtcedge.py)."""
    from .rtcedge import edge_stack  # (rtcedge imports this module)

    with edge_stack(tmp_path_factory.mktemp("rtc-edge")) as e:
        yield e


@pytest.fixture
def edge_emulator(edge: Any) -> Iterator[Emulator]:
    """The emulator of the `edge` stack."""
    e = Emulator(edge.stack)
    try:
        yield e
    finally:
        e.client.close()
