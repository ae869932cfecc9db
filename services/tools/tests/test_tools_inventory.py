from __future__ import annotations

from livebus_tools.builtin.inventory import MAX_QUERY_CHARS, Inventory, inventory_lookup

CSV = """part_number,name,description,bin,quantity,unit_price
A-1,Widget 100%,a_blue widget,Z-9,3,1.5
B-2,Gadget,red gadget,Z-8,1,2.0
"""


def test_exact_part_number_then_every_word() -> None:
    inv = Inventory.seeded(CSV)
    assert [r["part_number"] for r in inv.search("a-1", 5)] == ["A-1"]
    assert [r["part_number"] for r in inv.search("red gadget", 5)] == ["B-2"]
    assert inv.search("   ", 5) == []


def test_like_wildcards_in_a_query_are_literal() -> None:
    inv = Inventory.seeded(CSV)
    assert [r["part_number"] for r in inv.search("100%", 5)] == ["A-1"]
    assert [r["part_number"] for r in inv.search("%", 5)] == ["A-1"]  # only the one with a %
    assert inv.search("d_e", 5) == []  # "_" would match "dge" in Gadget as a wildcard
    assert [r["part_number"] for r in inv.search("a_blue", 5)] == ["A-1"]
    assert inv.search("'; DROP TABLE inventory; --", 5) == []
    assert len(inv.search("gadget", 5)) == 1  # still there


def test_a_huge_query_is_bounded() -> None:
    inv = Inventory.seeded(CSV)
    assert inv.search(" ".join(["widget"] * 50_000), 5)[0]["part_number"] == "A-1"
    schema = inventory_lookup.parameters["properties"]["query"]
    assert schema["maxLength"] == MAX_QUERY_CHARS
    assert list(inventory_lookup.validator.iter_errors({"query": "x" * (MAX_QUERY_CHARS + 1)}))
