"""The alert rules load and behave as their unit tests say (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .prometheus import PROMTOOL

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], cwd=RULES, capture_output=True, text=True,
                          timeout=60, check=False)


def test_rules_are_valid() -> None:
    files = sorted(p.name for p in RULES.glob("*.yml") if not p.name.endswith(".test.yml"))
    assert files
    r = promtool("check", "rules", *files)
    assert r.returncode == 0, r.stdout + r.stderr


def test_rules_unit_tests_pass() -> None:
    tests = sorted(p.name for p in RULES.glob("*.test.yml"))
    assert tests
    r = promtool("test", "rules", *tests)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_every_alert_has_a_unit_test() -> None:
    rules = (RULES / "livebus-rules.yml").read_text()
    tests = "".join(p.read_text() for p in RULES.glob("*.test.yml"))
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines()
              if line.strip().startswith("- alert:")]
    assert alerts
    missing = [a for a in alerts if f"alertname: {a}" not in tests]
    assert not missing, f"alerts without a promtool test: {missing}"
