"""Loading an ECB euro reference-rate history: first load, and the same file again.

Writes a file in the layout of the ECB's ``eurofxref-hist.csv`` (a Date column,
41 currency columns, ``N/A`` for currencies not quoted yet or any more, a comma
ending each line) with made-up rates, DAYS business days long (the real file
has about 6,700), and times ``folio.load_reference`` on it twice: the first
load adds every rate, the second skips them all (loading is idempotent). On
SQLite, and on PostgreSQL when a server URL is set (see ``import_bench``).

Run: python benchmarks/bench_reference.py [DAYS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from import_bench import (  # noqa: E402
    NO_PG_URL,
    drop_pg_database,
    embedded,
    fresh_pg_database,
    pg_admin_url,
)

DAYS = int(sys.argv[1]) if len(sys.argv) > 1 else 6_700
CODES = ("USD JPY BGN CYP CZK DKK EEK GBP HUF LTL LVL MTL PLN ROL RON SEK SIT SKK CHF ISK "
         "NOK TRL TRY AUD BRL CAD CNY HKD IDR ILS INR KRW MXN MYR NZD PHP SGD THB ZAR HRK "
         "RUB").split()
GONE = {"CYP", "EEK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL", "HRK", "RUB"}


def write_history(path: Path, days: int) -> int:
    """The file, newest day first; returns how many cells hold a rate."""
    rng = np.random.default_rng(3)
    day, rates, lines = date(2024, 12, 31), 0, ["Date," + ",".join(CODES) + ","]
    for index in range(days):
        cells = []
        for code in CODES:
            if code in GONE and index < days // 2:  # recent half: these are N/A
                cells.append("N/A")
            else:
                cells.append(f"{rng.uniform(0.5, 2000):.4f}")
                rates += 1
        lines.append(f"{day.isoformat()}," + ",".join(cells) + ",")
        day -= timedelta(days=1 if day.weekday() else 3)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rates


def measure(label: str, path: Path, rates: int, **settings) -> None:
    import folio
    from folio.store.db import dispose_all

    folio.configure(**settings)
    for run, outcome in (("first load", "added"), ("again", "skipped")):
        start = time.perf_counter()
        loaded = folio.load_reference(path)
        took = time.perf_counter() - start
        assert loaded.total(outcome) == rates, loaded.counts
        print(f"{label:<10} {run:<10} {took:6.2f} s  {rates / took:>10,.0f} rates/s  "
              f"({loaded.added:,} added, {loaded.skipped:,} skipped)")
    dispose_all()
    folio.reset_configuration()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "eurofxref-hist.csv"
        rates = write_history(path, DAYS)
        print(f"{DAYS:,} days x {len(CODES)} currencies: {rates:,} rates, "
              f"{path.stat().st_size / 2**20:.1f} MB")
        measure("sqlite", path, rates, **embedded(folder / "sqlite"))
        admin = pg_admin_url()
        if admin is None:
            print(f"postgresql: skipped ({NO_PG_URL})")
            return
        url = fresh_pg_database(admin)
        try:
            measure("postgresql", path, rates, home=folder / "pg", database_url=url)
        finally:
            drop_pg_database(admin, url)


if __name__ == "__main__":
    main()
