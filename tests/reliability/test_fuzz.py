"""Fuzzing the import with the seed corpus: every file, and mutations of them,
meets the contract (a result, or a FolioError naming the file; a refusal leaves
the store as it was). ``FOLIO_FUZZ_EXAMPLES`` runs more examples."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import folio

from builders import TOTAL, english_csv
from contract import import_under_contract

CORPUS = Path(__file__).parent / "corpus"
SEEDS = sorted(p for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx"))
HOSTILE = [b"1e400", b"NaN", b"-0", b"(1 234,50)", b"=1+1", b"@SUM(A1)", b"0000-00-00",
           b"31/02/2024", b"\x00", "🚀".encode(), "é".encode("cp1252"), b'"', b"\r", b";;;;",
           b"Total", b"ISIN,Quantity,Currency", b"\xef\xbb\xbf", b"x" * 2000]
EXAMPLES = int(os.environ.get("FOLIO_FUZZ_EXAMPLES", "300"))


@pytest.fixture
def baseline(tmp_path):
    """A store that already holds a snapshot, which no refusal may touch."""
    folio.import_file(english_csv(tmp_path / "base.csv",
                                  [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")]), "P")


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_every_corpus_file_meets_the_contract(tmp_path, baseline, seed):
    path = tmp_path / seed.name
    path.write_bytes(seed.read_bytes())
    import_under_contract(path, as_of="2024-01-31")


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    seed = draw(st.sampled_from(SEEDS))
    data = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup_line",
                                   "swap_lines", "hostile"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif op == "truncate":
            del data[at:]
        elif op in ("dup_line", "swap_lines"):
            lines = bytes(data).split(b"\n")
            i, j = (draw(st.integers(0, max(len(lines) - 1, 0))) for _ in range(2))
            if op == "dup_line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
        elif op == "hostile":
            data[at:at + draw(st.integers(0, 12))] = draw(st.sampled_from(HOSTILE))
    return seed.suffix, bytes(data)


_names = itertools.count()


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(case=mutated())
def test_mutated_corpus_files_meet_the_contract(tmp_path, baseline, case):
    suffix, data = case
    path = tmp_path / f"mutant{next(_names)}{suffix}"
    path.write_bytes(data)
    import_under_contract(path, as_of="2024-01-31")
