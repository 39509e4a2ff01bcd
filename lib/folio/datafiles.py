"""The package's data tables: ``#``-commented CSV files read at run time.

Owns how such a table is read (comment lines skipped, each row with the line
of the file it is on, so an error can name it) and how a name in one is folded
for look-up (case, accents and dots ignored, spacing made single): the month
names, the currency names, the asset-class labels and the countries are data
that a new line extends, not code.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path


def rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number in the file, row) of each data row of a ``#``-commented CSV."""
    lines = path.read_text(encoding="utf-8").splitlines()
    numbered = [(i + 1, text) for i, text in enumerate(lines)
                if text.strip() and not text.lstrip().startswith("#")]
    reader = csv.DictReader([text for _, text in numbered])
    return [(line, row) for (line, _), row in zip(numbered[1:], reader, strict=True)]


def fold(text: str) -> str:
    """A name as the tables match it: lower case, no accents, no dots, single spaces
    (``Févr.`` -> ``fevr``, ``Dollar U.S.`` -> ``dollar us``)."""
    plain = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c)).replace(".", "")
    return " ".join(plain.split())
