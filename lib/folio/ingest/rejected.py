"""What an import's rejected rows carried: how many, and the value they held.

Owns the tally the checker keeps as it rejects rows: the count, the market
value of those whose value and currency could be read (per currency, in that
currency: converting is the analytics' work), how many could not be read, and
the identifiers read (the first ``MAX_IDENTIFIERS``), so that changes can tell
a rejected row from a removed position. Stored on the import record as JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from folio.ingest.currencies import ISO_4217

MAX_IDENTIFIERS = 10_000
_LARGEST = 1e15  # beyond the bounds the checker keeps: not a value to add up


class RejectedRows:
    """The running tally of rejected rows (``add`` per block, ``to_dict`` at the end)."""

    def __init__(self) -> None:
        self.rows = 0
        self.value_local: dict[str, float] = {}
        self.unreadable = 0
        self.identifiers: list[str] = []
        self.unidentified = 0

    def add(self, identifiers: pd.Series, currencies: pd.Series, values: np.ndarray) -> None:
        """Tally the rejected rows of one block (identifier, currency, market value)."""
        ccy = currencies.astype("string").str.strip().str.upper().fillna("")
        value = np.asarray(values, dtype=float)
        # One set lookup per code: pandas' isin builds its table from the set every call.
        readable = (np.isfinite(value) & (np.abs(value) <= _LARGEST)
                    & np.array([code in ISO_4217 for code in ccy.tolist()], dtype=bool))
        self.rows += len(value)
        self.unreadable += int((~readable).sum())
        sums = pd.Series(value[readable]).groupby(ccy.to_numpy()[readable]).sum()
        for code, amount in sums.items():
            self.value_local[str(code)] = self.value_local.get(str(code), 0.0) + float(amount)
        ids = identifiers.astype("string").str.strip().fillna("")
        named = ids[ids != ""]
        self.unidentified += len(ids) - len(named)
        room = MAX_IDENTIFIERS - len(self.identifiers)
        self.identifiers += [str(i) for i in named.head(max(room, 0))]
        self.unidentified += max(len(named) - max(room, 0), 0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``rows``, ``value_local``, ``unreadable``, ``identifiers``,
        ``unidentified`` (rows whose identifier is not listed)."""
        return {"rows": self.rows, "value_local": dict(sorted(self.value_local.items())),
                "unreadable": self.unreadable, "identifiers": self.identifiers,
                "unidentified": self.unidentified}
