"""Writing the Excel report of a large snapshot: how long, against a plain export.

Builds a snapshot the way ``bench_analytics`` does (ROWS positions, default
20,000), values it, and times ``Report.to_excel`` (every sheet, every cell
formatted, the four shipped scenarios) against ``DataFrame.to_excel`` of the
same positions' columns alone, unformatted, through the same openpyxl: the
floor for writing those cells. Prints seconds, positions per second and the
ratio. openpyxl spends some tens of microseconds per cell, so the positions
sheet is most of the time.

Run: python benchmarks/bench_excel.py [ROWS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench_analytics import build

from folio.analytics import build_report, value_positions
from folio.analytics.excel import POSITION_COLUMNS

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000


def main() -> None:
    positions, instruments, fx, prices = build(ROWS)
    valuation = value_positions(positions, base_currency="XAF", instruments=instruments,
                                fx_rates=fx, prices=prices)
    columns = [c for c, _, _ in POSITION_COLUMNS if c in valuation.positions]
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        path = build_report(valuation, portfolio="BENCH").to_excel(Path(folder) / "r.xlsx")
        folio_s = time.perf_counter() - began
        size = path.stat().st_size
        began = time.perf_counter()
        valuation.positions[columns].to_excel(Path(folder) / "plain.xlsx", index=False,
                                              engine="openpyxl")
        plain_s = time.perf_counter() - began
    cells = ROWS * len(columns)
    print(f"  {ROWS:,} positions, {len(columns)} columns ({cells:,} cells in the positions sheet)")
    print(f"  folio report workbook (12 sheets, formatted): {folio_s:.2f} s, "
          f"{ROWS / folio_s:,.0f} positions/s, {size / 1e6:.1f} MB")
    print(f"  pandas to_excel of the positions alone, unformatted: {plain_s:.2f} s, "
          f"{ROWS / plain_s:,.0f} positions/s")
    print(f"  ratio folio / plain: {folio_s / plain_s:.2f}x")


if __name__ == "__main__":
    main()
