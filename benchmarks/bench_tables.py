"""The table renderer on 100,000 positions: what a user waits for, and what the browser gets.

``widgets.Table`` keeps the frame in the kernel and draws one page; this prints
the time to build the widget (first page drawn), to turn a page, to sort by an
amount, to filter by text (the first filter builds the search text, later ones
reuse it), and the HTML size sent for a page against ``DataFrame.to_html`` of
the whole frame (what the widgets drew before), with the ratios.

Run: python benchmarks/bench_tables.py [ROWS]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from folio.widgets.tables import Table

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000


def build(rows: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    currencies = np.array(["XAF", "XOF", "EUR", "USD", "JPY"])
    return pd.DataFrame({
        "id": np.arange(rows), "import_id": ["f" * 32] * rows,
        "identifier": [f"XS{i:010d}" for i in range(rows)],
        "name": [f"Issuer {i % 1500:04d} bond {i}" for i in range(rows)],
        "quantity": rng.integers(1, 5_000_000, rows).astype(float),
        "price": rng.uniform(50, 150, rows).round(4),
        "market_value": rng.uniform(1e3, 5e9, rows).round(2),
        "currency": currencies[rng.integers(0, len(currencies), rows)],
        "as_of": pd.Timestamp("2024-03-29"),
        "maturity_date": pd.Timestamp("2024-03-29")
        + pd.to_timedelta(rng.integers(30, 11_000, rows), "D"),
    })


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    frame = build(ROWS)
    holder: dict[str, Table] = {}
    build_s = timed(lambda: holder.setdefault("t", Table(frame)))
    table = holder["t"]
    page_s = timed(lambda: table.turn(+1))
    sort_s = timed(lambda: setattr(table.sort_by, "value", "market_value"))
    first_filter_s = timed(lambda: setattr(table.search, "value", "issuer 0042"))
    found = len(table.rows)
    next_filter_s = timed(lambda: setattr(table.search, "value", "issuer 0043"))
    page_kb = len(table.view.value.encode()) / 1024
    whole_s = timed(lambda: holder.setdefault("html", frame.to_html()))
    whole_kb = len(holder["html"].encode()) / 1024
    print(f"{ROWS:,} rows, {len(frame.columns)} columns; one page of {table.page_size} drawn")
    print(f"  build the Table (first page):   {build_s * 1000:8.1f} ms")
    print(f"  next page:                      {page_s * 1000:8.1f} ms")
    print(f"  sort by market_value:           {sort_s * 1000:8.1f} ms")
    print(f"  first filter (builds search):   {first_filter_s * 1000:8.1f} ms  ({found:,} rows)")
    print(f"  next filter:                    {next_filter_s * 1000:8.1f} ms")
    print(f"  HTML sent for a page:           {page_kb:8.1f} KB")
    print(f"  DataFrame.to_html of all rows:  {whole_s * 1000:8.1f} ms, {whole_kb:,.0f} KB")
    print(f"  ratio, whole HTML / a page:     {whole_kb / page_kb:8.0f}x the size, "
          f"{whole_s / build_s:.1f}x the time of building the Table")


if __name__ == "__main__":
    main()
