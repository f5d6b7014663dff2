"""The NUL scan of request bodies (gateway/nul.py): exact on any JSON text however it is cut in pieces,
never fooled by an escaped backslash, and fast on a 32 MiB ledger batch."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.nul import NulScanner, contains_nul, nul_fields


def has_nul(value: Any) -> bool:
    """The reference: a NUL in any string or key of the decoded value."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def scan(pieces: list[bytes]) -> bool:
    scanner = NulScanner()
    return any(scanner.feed(p) for p in pieces)


def cut(text: bytes, points: list[int]) -> list[bytes]:
    points = sorted({p % (len(text) + 1) for p in points})
    edges = [0, *points, len(text)]
    return [text[a:b] for a, b in zip(edges, edges[1:])]


# Strings rich in what matters: backslashes, the letters of the escape, NUL itself.
tricky_text = st.text(alphabet=st.sampled_from(["\\", "u", "0", "\x00", "a", "\"", "中", "\n"]), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(tricky_text, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans(), st.lists(st.integers(min_value=0), max_size=6))
def test_the_scan_agrees_with_decoding_however_the_text_is_cut(value, ascii_only, points):
    text = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert scan(cut(text, points)) == has_nul(value), text


def test_an_escaped_backslash_before_u0000_is_text_not_nul():
    assert json.loads(rb'"\\u0000"') == "\\u0000"
    assert not contains_nul(rb'{"a": "\\u0000"}')
    assert contains_nul(rb'{"a": "\u0000"}')
    assert contains_nul(rb'{"a": "\\\u0000"}')  # an escaped backslash, then NUL
    assert not contains_nul(rb'{"a": "\\\\u0000"}')
    assert contains_nul(b'{"a": "x\x00"}')  # a raw NUL byte (not JSON, refused all the same)


def test_every_cut_through_the_escape_and_a_long_backslash_run():
    for run in range(0, 9):
        text = b'{"a": "' + b"\\" * run + b'\\u0000"}'
        expected = run % 2 == 0
        assert json.loads(text) and has_nul(json.loads(text)) == expected
        for i in range(len(text) + 1):
            for j in range(i, len(text) + 1):
                assert scan([text[:i], text[i:j], text[j:]]) == expected, (run, i, j)
    # One byte at a time.
    assert scan([bytes([b]) for b in b'["' + b"\\" * 1001 + b'u0000"]'])
    assert not scan([bytes([b]) for b in b'["' + b"\\" * 1000 + b'u0000"]'])


def test_the_fields_holding_a_nul_are_named():
    body = json.dumps({"enterprise": {"name": "a\x00"}, "tankers": [{"name": "ok"}, {"name": "\x00"}],
                       "k\x00": 1}).encode()
    assert nul_fields(body) == ["body.enterprise.name", "body.tankers.1.name", "body.'k\\x00'"]
    assert nul_fields(b"not json \x00") == ["body"]


def test_a_32_mib_ledger_batch_is_scanned_in_milliseconds():
    row = json.dumps({"voucher_no": "V-0000001", "kind": "supply", "occurred_at": "2026-11-27T08:00:00+08:00",
                      "depot": "南沙油库", "quantity_t": "123.456", "vessel_imo": "9321483",
                      "remarks": "路径 C:\\\\bunker\\\\u0000 不是 NUL"}, ensure_ascii=False).encode()
    body = b"[" + b",".join([row] * (32 * 1024 * 1024 // len(row))) + b"]"
    pieces = [body[i:i + 65536] for i in range(0, len(body), 65536)]  # as uvicorn hands them over
    started = time.perf_counter()
    assert not scan(pieces)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    json.loads(body)
    parse = time.perf_counter() - started
    print(f"scan of {len(body) / 2**20:.0f} MiB in {len(pieces)} pieces: {elapsed * 1000:.1f} ms "
          f"(json.loads: {parse * 1000:.0f} ms)")
    assert elapsed < max(0.5, parse / 4), (elapsed, parse)
