"""Whatever bytes a file holds, an import succeeds or fails with a FolioError,
and a failure leaves the store exactly as it was."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import folio
from folio.config import get_settings
from folio.store.db import get_engine
from folio.store.schema import portfolios, positions, snapshots

from builders import TOTAL, english_csv

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


def store_state() -> dict:
    with get_engine(get_settings()).connect() as conn:
        return {t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)).all())
                for t in (portfolios, snapshots, positions)}


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
    before = store_state()
    try:
        result = folio.import_file(path, "P", as_of="2024-01-31")
    except folio.FolioError as exc:
        # ExecutionError wraps an unexpected exception: a bug, not a clean refusal.
        assert not isinstance(exc, folio.ExecutionError), exc.fields.get("remote_traceback")
        assert exc.message
        assert store_state() == before
    else:
        assert result.status in ("succeeded", "partially_succeeded", "unchanged", "failed")
        if result.status in ("failed", "unchanged"):
            assert store_state() == before
