"""Reference data: instruments, FX rates and prices, loaded from CSV files.

Owns reading reference files (the layout of ``data/reference/``), checking them
(required columns, dates, numbers, currency codes) with errors naming file, row,
column and value, and replacing the matching rows in the store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from folio.config import PROJECT_DATA, Settings, get_settings
from folio.errors import ReadError
from folio.ingest.parse import check_currencies
from folio.store import queries
from folio.store.db import get_engine

COLUMNS = {
    "instruments": {"required": ["identifier"],
                    "optional": ["name", "issuer", "country", "asset_class", "currency",
                                 "maturity_date", "coupon", "modified_duration"]},
    "fx_rates": {"required": ["date", "base", "quote", "rate"], "optional": []},
    "prices": {"required": ["date", "identifier", "price"], "optional": ["currency"]},
}
_DATES = {"date", "maturity_date"}
_NUMBERS = {"rate", "price", "coupon", "modified_duration"}
_CURRENCIES = {"base", "quote", "currency"}


def read_reference_file(path: str | Path, kind: str) -> pd.DataFrame:
    """Read and check one reference CSV (comma separated, ISO dates, dot decimals)."""
    path = Path(path)
    spec = COLUMNS[kind]
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ReadError(f"{path.name}: cannot read {kind} reference: {exc}", file=path.name) from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in spec["required"] if c not in frame.columns]
    if missing:
        raise ReadError(f"{path.name}: {kind} reference lacks column(s) {', '.join(missing)}; "
                        f"found {', '.join(frame.columns)}", file=path.name, column=missing[0])
    keep = [c for c in spec["required"] + spec["optional"] if c in frame.columns]
    frame = frame[keep].apply(lambda s: s.str.strip()).replace("", None)
    line = np.arange(len(frame)) + 2  # header is line 1

    def fail(mask, column: str, what: str) -> None:
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            value = frame[column].iloc[i]
            raise ReadError(f"{path.name}, row {line[i]}, column {column}: {value!r} {what}",
                            file=path.name, row=int(line[i]), column=column, value=value)

    for column in spec["required"]:
        fail(frame[column].isna().to_numpy(bool), column, "is empty")
    out = frame.astype(object)
    for column in keep:
        if column in _DATES:
            parsed = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
            fail((parsed.isna() & frame[column].notna()).to_numpy(bool), column,
                 "is not a YYYY-MM-DD date")
            out[column] = [None if pd.isna(d) else d.date() for d in parsed]
        elif column in _NUMBERS:
            parsed = pd.to_numeric(frame[column], errors="coerce")
            fail((parsed.isna() & frame[column].notna()).to_numpy(bool), column, "is not a number")
            out[column] = parsed.astype(object).where(parsed.notna(), None)
        elif column in _CURRENCIES:
            codes = frame[column].str.upper()
            fail(check_currencies(codes) & codes.notna().to_numpy(bool), column,
                 "is not an ISO 4217 currency code")
            out[column] = codes.astype(object).where(codes.notna(), None)
    if kind == "instruments":
        out["identifier"] = frame["identifier"].str.upper().astype(object)
    if kind == "prices":
        out["identifier"] = frame["identifier"].str.upper().astype(object)
    keys = {"instruments": ["identifier"], "fx_rates": ["date", "base", "quote"],
            "prices": ["date", "identifier"]}[kind]
    dup = out.duplicated(keys, keep="first").to_numpy(bool)
    fail(dup, keys[-1], "appears twice for the same key")
    return out


def load_reference(folder: str | Path | None = None, settings: Settings | None = None
                   ) -> dict[str, int]:
    """Load ``instruments.csv``, ``fx_rates.csv`` and ``prices.csv`` from a folder.

    Rows replace those with the same key in the store; files that are absent are
    skipped. Default folder: the project's ``data/reference``. Returns the number
    of rows loaded per table.
    """
    folder = Path(folder) if folder else PROJECT_DATA / "reference"
    if not folder.is_dir():
        raise ReadError(f"{folder}: no such reference folder", file=str(folder))
    engine = get_engine(settings or get_settings())
    frames = {kind: read_reference_file(folder / f"{kind}.csv", kind)
              for kind in COLUMNS if (folder / f"{kind}.csv").is_file()}
    if not frames:
        raise ReadError(f"{folder}: holds none of instruments.csv, fx_rates.csv, prices.csv",
                        file=str(folder))
    return {kind: queries.replace_reference(engine, kind, frame) for kind, frame in frames.items()}
