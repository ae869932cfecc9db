from __future__ import annotations

import base64
import os

import pytest

from livebus import b64

DATA = os.urandom(1000)


@pytest.mark.parametrize("text", [
    base64.b64encode(DATA).decode(),                      # standard, padded
    base64.urlsafe_b64encode(DATA).decode().rstrip("="),  # what the Python SDK sends
    base64.b64encode(DATA).decode().rstrip("="),
])
def test_decodes_both_alphabets_padded_or_not(text: str) -> None:
    assert b64.decode(text) == DATA
    assert b64.decode(text.encode()) == DATA


@pytest.mark.parametrize("text", ["abc$", "a===", "YQ==YQ==", "Y Q==", "é", "YQ-+", "A"])
def test_rejects_what_is_not_base64(text: str) -> None:
    with pytest.raises(ValueError, match="invalid base64"):
        b64.decode(text)


def test_encode_is_standard_padded() -> None:
    assert b64.encode(DATA) == base64.b64encode(DATA).decode()
