"""What a dry run keeps of the positions it would write: the first few, and the
instruments the store's reference lacks.

Owns a dry run's list of missing instruments, in the order the file first
names them and without repeats. The first ``MAX_RESULT_MISSING`` stay in
memory for the result; past that the whole list goes to a scratch SQLite file
keyed by identifier (an instrument named again is skipped by its key), so a
file of ten million new instruments is not held whole. ``write_csv`` writes
all of it; ``discard`` removes the scratch.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa

from folio.result import MAX_RESULT_MISSING, safe_csv
from folio.store import bulk, queries

COLUMNS = ["identifier", "name", "currency", "issuer", "country", "asset_class",
           "maturity_date"]
CSV_BATCH = 50_000  # scratch rows read back per step of the CSV
REFERENCE_IN_MEMORY = 200_000


class Preview:
    """Fed a dry run's positions block by block (``add``), like an import's sink."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.rows = 0
        self.accounts: dict[str | None, int] = {}  # positions per account, as a sink counts
        self.head: list[pd.DataFrame] = []
        self._head_rows = 0
        self._missing: list[pd.DataFrame] = []  # the first MAX_RESULT_MISSING, in order
        self._held = 0
        self._seen: set[str] = set()  # their identifiers, until the scratch takes over
        self._scratch = None  # an ADBC connection to the scratch, once the list spills
        self._path: Path | None = None
        # A reference of up to REFERENCE_IN_MEMORY instruments (most are far smaller,
        # many empty) is read once: asking it block by block cost a million
        # instruments 2.6 s.
        self._reference = queries.instrument_ids(engine, REFERENCE_IN_MEMORY)

    def add(self, positions: pd.DataFrame) -> None:
        self.rows += len(positions)
        bulk.tally_accounts(self.accounts, positions)
        if self._head_rows < 10:
            self.head.append(positions.head(10))
            self._head_rows += len(self.head[-1])
        firsts = positions.drop_duplicates("identifier")
        if self._reference is None:  # a large reference: ask it about this block's
            known = queries.known_instruments(self.engine, firsts["identifier"].tolist())
        else:
            known = self._reference
        missing = firsts[~firsts["identifier"].isin(known)][COLUMNS]
        if self._scratch is not None:
            self._insert(missing)
            return
        new = missing[~missing["identifier"].isin(self._seen)]
        room = MAX_RESULT_MISSING - self._held
        keep = new.head(room)
        if len(keep):
            self._missing.append(keep)
            self._seen.update(keep["identifier"])
            self._held += len(keep)
        if len(new) > room:  # more than the result holds: the list goes to the scratch
            self._open_scratch()
            for frame in self._missing:
                self._insert(frame)
            self._insert(new.iloc[room:])
            self._seen = set()

    @property
    def missing(self) -> pd.DataFrame:
        """The first ``MAX_RESULT_MISSING`` missing instruments."""
        if not self._missing:
            return pd.DataFrame(columns=COLUMNS)
        return pd.concat(self._missing, ignore_index=True)

    @property
    def missing_total(self) -> int:
        if self._scratch is None:
            return self._held
        return self._sql("SELECT count(*) AS n FROM missing", fetch=True)["n"][0].as_py()

    def write_csv(self, path: str | Path) -> None:
        """Every missing instrument, as a CSV safe to open in a spreadsheet."""
        with open(path, "w", encoding="utf-8", newline="") as out:
            if self._scratch is None:
                out.write(safe_csv(self.missing))
                return
            out.write(safe_csv(pd.DataFrame(columns=COLUMNS)))
            # Rows are numbered 1..N in the order kept (an ignored insert takes no number).
            for start in range(0, self.missing_total, CSV_BATCH):
                part = self._sql(f"SELECT {', '.join(COLUMNS)} FROM missing WHERE rowid > ? "
                                 f"AND rowid <= ? ORDER BY rowid", (start, start + CSV_BATCH),
                                 fetch=True)
                out.write(safe_csv(part.to_pandas(), header=False))

    def discard(self) -> None:
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None
        if self._path is not None:
            bulk.remove_stage(self._path)
            self._path = None

    def _open_scratch(self) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        fd, name = tempfile.mkstemp(prefix=".folio-missing-", suffix=".db")
        os.close(fd)
        self._path = Path(name)
        # ADBC takes Arrow columns as they are: no Python object per cell (a
        # million new instruments cost 3 s more through executemany).
        self._scratch = adbc.connect(name)
        self._sql("PRAGMA journal_mode = OFF")  # scratch: nothing to recover
        # Kept in rowid order: the order in which the file first names each instrument.
        self._sql(f"CREATE TABLE missing (identifier TEXT PRIMARY KEY, {', '.join(COLUMNS[1:])})")

    def _sql(self, sql: str, parameters=None, fetch: bool = False):
        with self._scratch.cursor() as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetch_arrow_table() if fetch else None

    def _insert(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        # As the store's bulk paths write them: text, dates as ISO text (as the CSV has them).
        table = pa.table({c: bulk.arrow_column(frame, c) for c in COLUMNS})
        with self._scratch.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS block")
            cursor.adbc_ingest("block", table, mode="create")
            # An instrument already listed keeps its place: the key ignores it.
            cursor.execute("INSERT OR IGNORE INTO missing SELECT * FROM block ORDER BY rowid")
        self._scratch.commit()
