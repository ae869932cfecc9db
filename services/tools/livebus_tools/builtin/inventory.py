"""inventory_lookup: find a part by number, name or description (the part the camera sees).

By default an in-memory SQLite database seeded from data/inventory.csv (or
LIVEBUS_TOOLS_INVENTORY_CSV). LIVEBUS_TOOLS_INVENTORY_DSN=sqlite:///path/to/db.sqlite reads an
existing database instead (read-only) with a table or view named `inventory` (columns below).
"""

from __future__ import annotations

import asyncio
import csv
import sqlite3
import threading
from collections.abc import AsyncIterator
from importlib import resources as pkg_resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from ..context import ResourceEnv, ToolContext, ToolError, resource
from ..registry import tool

MAX_QUERY_CHARS = 200
MAX_WORDS = 8
COLUMNS = ("part_number", "name", "description", "bin", "quantity", "unit_price")
SCHEMA = """CREATE TABLE inventory (
    part_number TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    bin TEXT NOT NULL DEFAULT '', quantity INTEGER NOT NULL DEFAULT 0,
    unit_price REAL NOT NULL DEFAULT 0)"""


class Inventory:
    """One SQLite connection used from worker threads, one query at a time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.row_factory = sqlite3.Row
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def seeded(cls, csv_text: str) -> Inventory:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.execute(SCHEMA)
        rows = [tuple(r[c] for c in COLUMNS) for r in csv.DictReader(csv_text.splitlines())]
        conn.executemany(f"INSERT INTO inventory VALUES ({','.join('?' * len(COLUMNS))})", rows)
        conn.commit()
        return cls(conn)

    @classmethod
    def open(cls, dsn: str) -> Inventory:
        if not dsn.startswith("sqlite:///"):
            raise ValueError("inventory_dsn: only sqlite:///path is built in; for another "
                             "database write your own tool (docs/adding-a-tool.md)")
        path = Path(dsn.removeprefix("sqlite:///"))
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.exists():
            raise FileNotFoundError(f"inventory database {path} does not exist")
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("SELECT part_number, name, description, bin, quantity, unit_price "
                     "FROM inventory LIMIT 1")
        return cls(conn)

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        words = query.split()[:MAX_WORDS]  # each word is a scan of three columns
        if not words:
            return []
        cols = ", ".join(COLUMNS)
        with self._lock:
            exact = self._conn.execute(
                f"SELECT {cols} FROM inventory WHERE upper(part_number) = upper(?)",
                (query.strip(),)).fetchall()
            if exact:
                return [dict(r) for r in exact]
            # Every word must appear in the part number, name or description.
            where = " AND ".join(
                "(part_number LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' "
                "OR description LIKE ? ESCAPE '\\')" for _ in words)
            params: list[Any] = []
            for w in words:
                pat = "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                params += [pat, pat, pat]
            rows = self._conn.execute(
                f"SELECT {cols} FROM inventory WHERE {where} ORDER BY name LIMIT ?",
                (*params, limit)).fetchall()
        return [dict(r) for r in rows]

    def close(self) -> None:
        self._conn.close()


@resource
async def inventory_db(env: ResourceEnv) -> AsyncIterator[Inventory]:
    s = env.settings
    if s.inventory_dsn:
        inv = await asyncio.to_thread(Inventory.open, s.inventory_dsn)
    elif s.inventory_csv is not None:
        inv = Inventory.seeded(s.inventory_csv.read_text())
    else:
        seed = pkg_resources.files("livebus_tools").joinpath("data/inventory.csv").read_text()
        inv = Inventory.seeded(seed)
    try:
        yield inv
    finally:
        inv.close()


@tool(timeout=5.0, uses=[inventory_db])
async def inventory_lookup(
    ctx: ToolContext,
    query: Annotated[str, Field(max_length=MAX_QUERY_CHARS)],
    limit: Annotated[int, Field(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    """Look up parts in the workshop inventory: bin location, quantity in stock and price.

    Args:
        query: A part number (exact match) or words from the part's name or description,
            for example "6204 bearing" or "M3 screw".
        limit: How many matching parts to return at most.
    """
    if not query.strip():
        raise ToolError("query is empty")
    matches = await asyncio.to_thread(ctx.get(inventory_db).search, query, limit)
    return {"matches": matches, "count": len(matches)}
