"""Repeats: which rows repeat an earlier row or instrument, within a block and across blocks.

Owns the keys the duplicate checks compare: dense codes of a text column, of
(identifier, account) pairs and of whole rows (pyarrow dictionary codes, no
Python strings), 64-bit fingerprints of identifiers (so a block learns in a
binary search whether any of its instruments came before), and the rows of
earlier blocks read back from the file for the few instruments seen again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio.ingest.parse import arrow_strings, fixed_width, string_bytes
from folio.ingest.readers import BlockSource


@dataclass
class Seen:
    """The identifiers of one earlier block, for the duplicate checks that span blocks."""

    ident: pa.Array  # upper-case identifier of each row that has one
    rows: np.ndarray  # its file row (int32: a quarter of the memory of the strings' offsets)
    live: np.ndarray  # whether the row was kept
    sources: list[BlockSource]


def earlier_rows(seen: list[Seen], seen_prints: np.ndarray, mapped: list[str],
                 ids: pa.Array, frame: pd.DataFrame, same_as: np.ndarray,
                 prints: np.ndarray) -> np.ndarray:
    """Rows whose instrument a kept row of an earlier block had; rows repeating one.

    Sets ``same_as`` for rows identical (every mapped cell) to a row of an
    earlier block, read back from the file for the few instruments seen
    before; returns the mask of rows whose identifier an earlier kept row has.
    ``mapped``: the file's columns the import reads (those compared).
    """
    n = len(ids)
    if not seen or not len(prints) or not len(seen_prints):
        return np.zeros(n, dtype=bool)
    # Most files repeat no instrument across blocks: the sorted fingerprints of
    # all earlier identifiers say so in a binary search, where comparing the
    # strings themselves would cost a pass over every earlier identifier per block.
    at = np.minimum(np.searchsorted(seen_prints, prints), len(seen_prints) - 1)
    if not (seen_prints[at] == prints).any():
        return np.zeros(n, dtype=bool)
    earlier = pa.chunked_array([s.ident for s in seen], type=pa.string())
    hit = pc.is_in(earlier, value_set=pc.unique(ids.cast(pa.string()))).to_numpy(
        zero_copy_only=False)
    if not hit.any():
        return np.zeros(n, dtype=bool)
    bounds = np.cumsum([0] + [len(s.ident) for s in seen])
    matched: list[tuple[Seen, np.ndarray]] = [
        (s, np.flatnonzero(hit[lo:hi])) for s, lo, hi in zip(seen, bounds, bounds[1:], strict=False)]
    matched = [(s, at) for s, at in matched if len(at)]
    e_ident = pa.concat_arrays([s.ident.take(pa.array(at)) for s, at in matched])
    e_rows = np.concatenate([s.rows[at] for s, at in matched]).astype(np.int64)
    e_live = np.concatenate([s.live[at] for s, at in matched])
    earlier_live = pc.is_in(ids, value_set=e_ident.filter(pa.array(e_live))).fill_null(
        False).to_numpy(zero_copy_only=False)
    # Identical rows: the earlier rows' cells, read again, against this block's.
    candidates = np.flatnonzero(pc.is_in(ids, value_set=e_ident).fill_null(False)
                                .to_numpy(zero_copy_only=False))
    cells: dict[int, list[str]] = {}
    for s, at in matched:
        for source in s.sources:
            cells.update(source.cells(s.rows[at].astype(np.int64).tolist()))
    order = np.argsort(e_rows, kind="stable")
    e_rows = np.array([r for r in e_rows[order] if int(r) in cells], dtype=np.int64)
    if len(e_rows) == 0 or len(candidates) == 0:
        return earlier_live
    header = list(frame.columns)
    columns = []
    for column in (c for c in mapped if c in frame):
        at = header.index(column)
        before = pd.Series([cells[int(r)][at] if at < len(cells[int(r)]) else None
                            for r in e_rows], dtype=pd.StringDtype("pyarrow"))
        columns.append(pd.concat([before, frame[column].iloc[candidates]], ignore_index=True))
    first = _first_occurrence(columns)[len(e_rows):]
    from_earlier = first < len(e_rows)
    same_as[candidates[from_earlier]] = e_rows[first[from_earlier]]
    return earlier_live


# One formula for every identifier, wherever it lies: a fingerprint that depended on
# the other strings of its block would differ between blocks, and a repeat across
# them would be missed. A string's bytes, zero-padded to whole 8-byte words read
# little-endian, are summed as word k times _WORD_FACTOR ** (k + 1), plus its
# length times _LENGTH_FACTOR (so trailing zero bytes still count), modulo 2**64.
_WORD_FACTOR = np.uint64(0x100000001B3)  # odd: every byte moves every higher bit
_LENGTH_FACTOR = np.uint64(0x9E3779B97F4A7C15)
_PACKED = 16  # bytes: an ISIN or a short code, read as two words at once


def _word_factors(words: int) -> np.ndarray:
    """_WORD_FACTOR ** (k + 1) for k below ``words`` (an array: it wraps silently, as meant)."""
    return np.cumprod(np.full(words, _WORD_FACTOR, dtype=np.uint64))


def _fingerprints(arr: pa.Array) -> np.ndarray:
    """A 64-bit number per string of ``arr`` (no nulls) from its bytes alone: equal
    strings, equal numbers, whatever else ``arr`` holds (different strings share
    one rarely; callers compare the strings)."""
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    lengths = pc.binary_length(arr)
    ascii_ = pc.string_is_ascii(arr)
    if pc.max(lengths).as_py() <= _PACKED and pc.all(ascii_).as_py():
        return _packed_prints(arr, lengths.to_numpy(zero_copy_only=False))  # codes, ISINs
    # The few long or non-ASCII strings byte by byte, the rest by words as above.
    packed = pc.and_(pc.less_equal(lengths, _PACKED), ascii_)
    short = packed.to_numpy(zero_copy_only=False)
    if not short.any():
        return _byte_prints(arr)
    out = np.empty(len(arr), dtype=np.uint64)
    out[short] = _packed_prints(arr.filter(packed),
                                lengths.filter(packed).to_numpy(zero_copy_only=False))
    out[~short] = _byte_prints(arr.filter(pc.invert(packed)))
    return out


def _packed_prints(arr: pa.Array, lengths: np.ndarray) -> np.ndarray:
    """The fingerprints of ASCII strings of at most _PACKED bytes, from two words each."""
    padded = pc.utf8_rpad(arr, width=_PACKED, padding="\0")  # ASCII: one byte per character
    words = fixed_width(padded, _PACKED).view("<u8")
    out = words[:, 1] * _WORD_FACTOR  # (w1 W + w0) W, in place: one block-sized array
    out += words[:, 0]
    out *= _WORD_FACTOR
    out += lengths.astype(np.uint64) * _LENGTH_FACTOR
    return out


def _byte_prints(arr: pa.Array) -> np.ndarray:
    """The fingerprints of any strings, each byte times its word's factor and its place
    in the word (what _packed_prints gives for the strings it takes)."""
    offsets, data = string_bytes(arr)
    lengths = np.diff(offsets)
    out = lengths.astype(np.uint64) * _LENGTH_FACTOR
    size = int(offsets[-1] - offsets[0])
    if size == 0:
        return out
    data = data[offsets[0]:offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    position = np.arange(size) - np.repeat(starts, lengths)  # of each byte in its string
    words = (int(lengths.max()) + 7) // 8
    in_word = np.uint64(1) << (np.uint64(8) * np.arange(8, dtype=np.uint64))  # little-endian
    factors = (_word_factors(words)[:, None] * in_word[None, :]).ravel()
    terms = data.astype(np.uint64) * factors[position]  # wraps modulo 2**64, as meant
    filled = lengths > 0
    out[filled] += np.add.reduceat(terms, starts[filled])
    return out


def _instrument_codes(ids: np.ndarray, accounts: np.ndarray) -> np.ndarray:
    """Dense codes of (identifier, account) pairs; -1 where the identifier is missing."""
    pairs, _ = pd.factorize(ids * (int(accounts.max(initial=0)) + 2) + accounts + 1)
    return np.where(ids < 0, -1, pairs).astype(np.int64)


def _codes(column: pd.Series) -> np.ndarray:
    """Dense integer codes of a text column's values; -1 for missing."""
    return _array_codes(arrow_strings(column))


def _array_codes(arr: pa.Array) -> np.ndarray:
    encoded = pc.dictionary_encode(arr)
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def identifier_codes(present: pa.Array, has: np.ndarray, prints: np.ndarray) -> np.ndarray:
    """Dense codes of a block's identifiers, -1 for none, as ``_codes`` gives them.

    ``present``: the identifiers of the rows ``has`` marks, ``prints`` their
    ``_fingerprints``. Hashing the 64-bit fingerprints costs half of hashing the
    strings; rows that share a fingerprint are checked by their strings, and
    should two different identifiers ever share one, the strings decide.
    """
    codes = np.full(len(has), -1, dtype=np.int64)
    by_print, _ = pd.factorize(prints)
    shared = np.flatnonzero(np.bincount(by_print)[by_print] > 1)
    if len(shared):
        by_text = _array_codes(present.take(pa.array(shared)))
        pairs, _ = pd.factorize(by_print[shared] * (int(by_text.max()) + 1) + by_text)
        if pairs.max() + 1 != len(np.unique(by_print[shared])):  # a fingerprint is not one text
            by_print = _array_codes(present)
    codes[has] = by_print
    return codes


def _first_occurrence(columns: list[pd.Series]) -> np.ndarray:
    """For each row, the position of the first row with the same cells in ``columns``.

    Built from each column's dictionary codes (pyarrow, no Python strings), so
    the check spans a whole large file in a few integer arrays.
    """
    n = len(columns[0]) if columns else 0
    key = np.zeros(n, dtype=np.int64)
    for column in columns:
        codes = _codes(column) + 1  # 0 for missing
        # Combine, then re-number densely so the key never overflows.
        key, _ = pd.factorize(key * (int(codes.max(initial=0)) + 1) + codes)
        key = key.astype(np.int64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first[inverse]
