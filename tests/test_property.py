"""Whatever bytes a file holds, an import succeeds or fails with a FolioError,
and a failure leaves the store exactly as it was."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import folio

from builders import TOTAL, english_csv
from contract import import_under_contract

HEADERS = ["ISIN", "Code ISIN", "Quantité", "Quantity", "Cours", "Price", "Market Value",
           "Valeur de marché", "Devise", "Currency", "Date", "Échéance", "Issuer", ""]
CELLS = st.one_of(
    st.sampled_from([TOTAL, "FR0000133308", "XS123", "EUR", "XAF", "FCFA", "1 000,50", "1.5e3",
                     "(12)", "31/02/2024", "2024-01-31", "45322", "", "Total", '"a;b"', "=1+1"]),
    st.text(max_size=12),
)


@st.composite
def table_bytes(draw) -> bytes:
    """Files that look like holdings tables, often almost right."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=12))
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    preamble = draw(st.lists(st.text(max_size=20), max_size=3))
    text = "\n".join(preamble + lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


_names = itertools.count()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.one_of(st.binary(max_size=400), table_bytes()),
       suffix=st.sampled_from([".csv", ".xlsx", ".txt"]))
def test_any_bytes_succeed_or_fail_cleanly(tmp_path, data, suffix):
    base = tmp_path / "base.csv"
    if not base.exists():  # a snapshot already there, which a failure must not touch
        english_csv(base, [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])
        folio.import_file(base, "P")
    path = tmp_path / f"f{next(_names)}{suffix}"
    path.write_bytes(data)
    import_under_contract(path, as_of="2024-01-31")
