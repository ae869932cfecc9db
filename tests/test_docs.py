"""Docs that are checked against the code: settings and metrics."""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path

from livebus.edge import metrics as edge_metrics
from livebus.edge.settings import EdgeSettings

ROOT = Path(__file__).resolve().parents[1]


def test_configuration_doc_is_current() -> None:
    render = runpy.run_path(str(ROOT / "scripts" / "settings_doc.py"))["render"]
    assert (ROOT / "docs" / "configuration.md").read_text() == render(), "run `make docs`"


def test_every_metric_is_documented() -> None:
    """docs/metrics.md names every metric a service registers (sections give the prefix)."""
    doc = (ROOT / "docs" / "metrics.md").read_text()
    lib = ROOT / "libs/livebus/livebus"
    sources = [*ROOT.glob("services/*/livebus_*/metrics.py"),
               *(lib / m for m in ("bus.py", "reliable.py", "shadowlog.py"))]
    names = {m for src in sources for m in re.findall(r'"(livebus_[a-z_]+)"', src.read_text())}
    names |= {m for prefix in _edge_metric_prefixes() for m in edge_metrics.names(prefix)}
    assert len(names) > 40
    prefix = re.compile(r"^livebus_(gateway|webrtc|bridge|sampler|tools|emulator)_")
    missing = [n for n in sorted(names) if n not in doc and prefix.sub("", n) not in doc]
    assert not missing, f"undocumented metrics: {missing}"


def _edge_metric_prefixes() -> set[str]:
    """The metric prefix of every edge service (livebus.edge.metrics names its metrics by it)."""
    services = runpy.run_path(str(ROOT / "scripts" / "settings_doc.py"))["SERVICES"]
    found = {cls.metrics_prefix for _, cls in services if issubclass(cls, EdgeSettings)}
    assert "livebus_gateway" in found
    return found


# References: every relative link and every file path cited in README.md and docs/*.md resolves.
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
             ".livebus", "build"}
EXT = r"(?:md|py|pyi|ya?ml|json|toml|proto|js|mjs|css|html|txt|sh|csv|cfg|ini)"
# A path-like token: segments joined by "/", or one name with a file extension.
TOKEN = re.compile(rf"(?<![\w/.:$<-])((?:\.{{1,2}}/)?[\w.*-]+(?:/[\w.*-]+)+/?|[\w-]+\.{EXT})"
                   rf"(?![\w/-])")
HAS_EXT = re.compile(rf"\.{EXT}/?$")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE = re.compile(r"`([^`\n]+)`")
RUNTIME = (".livebus/", ".venv/")  # created by `make run` / `make venv`, not in the repository


def _repo_files() -> list[str]:
    out: list[str] = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.endswith(".egg-info")]
        rel = Path(d).relative_to(ROOT)
        out += [str(rel / f) for f in files] + [str(rel / x) + "/" for x in dirs]
    return [p.removeprefix("./") for p in out]


def _top_dirs() -> set[str]:
    return {p.name for p in ROOT.iterdir() if p.is_dir() and p.name not in SKIP_DIRS}


def _resolves(doc: Path, ref: str, files: list[str], exact: bool) -> bool:
    """`ref` names a file or folder: from the doc's folder, the root, or (a bare file name or
    a short path in prose) as the tail of a path in the repository."""
    ref = ref.rstrip("/")
    for base in (doc.parent, ROOT):
        if "*" in ref and list(base.glob(ref)):
            return True
        if (base / ref).exists():
            return True
    return not exact and any(f.rstrip("/") == ref or f.rstrip("/").endswith("/" + ref)
                             for f in files)


def _slug(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = FENCE.sub("", doc.read_text())
    return {_slug(h) for h in re.findall(r"^#+\s+(.+?)\s*$", text, re.M)}


def _cited(text: str, top: set[str]) -> list[tuple[str, bool]]:
    """(path, exact) for each path cited: in code blocks only top-level paths with an extension
    (commands and arguments), in prose top-level paths and names with an extension."""
    out: list[tuple[str, bool]] = []
    blocks = FENCE.findall(text)
    prose = FENCE.sub("", LINK.sub("]", text))
    for chunk, in_block in [*((b, True) for b in blocks), (prose, False)]:
        for m in TOKEN.finditer(chunk):
            ref = m.group(1)
            if ref.startswith(RUNTIME) or "..." in ref:
                continue
            first = ref.removeprefix("./").split("/")[0]
            is_top = first in top or first == "reference"
            if in_block and not (is_top and HAS_EXT.search(ref)):
                continue
            if not in_block and not is_top and not HAS_EXT.search(ref):
                continue
            out.append((ref, is_top))
    return out


def test_every_link_and_cited_path_resolves() -> None:
    files, top = _repo_files(), _top_dirs()
    broken: list[str] = []
    for doc in DOCS:
        text = doc.read_text()
        name = doc.relative_to(ROOT)
        for target in LINK.findall(text):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            path, _, anchor = target.partition("#")
            dest = (doc.parent / path).resolve() if path else doc
            if not dest.exists():
                broken.append(f"{name}: link {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{name}: link {target} (no such heading)")
        for ref, exact in _cited(text, top):
            if not _resolves(doc, ref, files, exact):
                broken.append(f"{name}: {ref}")
    assert not broken, "docs cite what does not exist:\n" + "\n".join(sorted(set(broken)))


def test_the_reference_check_finds_a_broken_reference(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    files, top = _repo_files(), _top_dirs()
    cited = _cited("see `deploy/prometheus/rules` and reference/nats.md, `image.py`,\n"
                   "```\n.venv/bin/python bench/nope.py\nkubectl rollout status deploy/gw\n```\n",
                   top)
    assert sorted(cited) == [("bench/nope.py", True), ("deploy/prometheus/rules", True),
                             ("image.py", False), ("reference/nats.md", True)]
    assert [r for r, exact in cited if not _resolves(doc, r, files, exact)] == [
        "bench/nope.py", "deploy/prometheus/rules", "reference/nats.md"]
