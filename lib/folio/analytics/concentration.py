"""Concentration: top-N shares, Herfindahl-Hirschman index, limit breaches.

Owns the concentration measures of one dimension (issuer, country, ...) and
the check of exposure shares against user limits.

The ``unclassified`` bucket is not a name: lumping every unknown issuer
together would invent one large issuer. It is left out of the top-N shares,
the HHI and the name count, and reported as ``unclassified_share`` instead.
Shares are always of the whole valued portfolio, so with an unclassified part
the HHI is a lower bound (reached if the unknown value were spread over many
small names).

Positions without a value cannot be placed at all: above ``max_unvalued_share``
of positions unvalued (the setting ``FOLIO_MAX_UNVALUED_SHARE`` by default), a
concentration is marked ``trusted=False`` and a limit check reports the
dimension ``unchecked`` instead of breaches computed on part of the portfolio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.exposures import DIMENSIONS, UNCLASSIFIED, UNVALUED, exposure
from folio.analytics.frames import result_frame
from folio.analytics.totals import max_unvalued, unvalued_share
from folio.analytics.valuation import Valuation, frame_of
from folio.errors import ValidationError

TOP = (1, 5, 10)
LIMIT_COLUMNS = ("dimension", "bucket", "value", "share", "limit", "excess", "status",
                 "unvalued_share")


@dataclass(frozen=True)
class Concentration:
    """Concentration of one dimension.

    Attributes
    ----------
    dimension
        What was grouped (``issuer``, ``country``...).
    names
        Number of classified buckets holding value.
    top
        ``{N: share of total value held by the N largest names}``.
    hhi
        Sum of squared shares (0 to 1; multiply by 10,000 for the
        antitrust "points" scale).
    effective_names
        1 / HHI: the number of equal names giving the same HHI (None if HHI=0).
    largest, largest_share
        The largest name and its share.
    unclassified_share
        Share of total value in the ``unclassified`` bucket.
    unvalued_share
        Share of positions (by count) without a value, left out of every figure.
    trusted
        False when ``unvalued_share`` is above the threshold: the figures
        describe part of the portfolio only.
    """

    dimension: str
    names: int
    top: dict[int, float]
    hhi: float
    effective_names: float | None
    largest: str | None
    largest_share: float | None
    unclassified_share: float
    unvalued_share: float = 0.0
    trusted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (top-N keys become ``"top_1"`` ...)."""
        out = asdict(self)
        out["top"] = {f"top_{n}": share for n, share in self.top.items()}
        return out


_ITEM_SPLIT = re.compile(r";|,(?=\s*[A-Za-z_])")  # "0,10" is a decimal comma, not a list


def parse_share(text: Any, what: str = "limit") -> float:
    """A share written ``10%``, ``0.10`` or ``0,10`` as a fraction (0.1).

    Raises ``ValidationError`` (``column`` = ``what``) for anything else or a
    share outside 0 to 1.
    """
    raw = str(text).strip()
    number = raw[:-1].strip() if raw.endswith("%") else raw
    if "," in number and "." not in number:
        number = number.replace(",", ".")
    try:
        share = float(number) / (100.0 if raw.endswith("%") else 1.0)
    except ValueError:
        share = float("nan")
    if not 0 <= share <= 1:
        raise ValidationError(f"{what} {raw!r} is not a share: write 10%, 0.10 or 0,10",
                              column=what, value=raw)
    return share


def parse_limits(items: str | Iterable[str]) -> dict[str, float]:
    """``"issuer=10%, country=0,35"`` (or a list of ``DIMENSION=SHARE``) as ``{dim: share}``."""
    if isinstance(items, str):
        items = _ITEM_SPLIT.split(items)
    out: dict[str, float] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        dimension, sep, share = item.replace(":", "=", 1).partition("=")
        if not sep or not dimension.strip():
            raise ValidationError(f"limit {item!r} is not DIMENSION=SHARE, e.g. issuer=10%",
                                  column="limit", value=item)
        out[dimension.strip()] = parse_share(share, f"limit for {dimension.strip()}")
    return out


def _nan_to_none(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def concentration(valued: Valuation | pd.DataFrame, by: str = "issuer", *,
                  top: Iterable[int] = TOP, value: str = "value",
                  max_unvalued_share: float | None = None) -> Concentration:
    """Top-N shares, HHI and effective number of names of one dimension.

    Parameters
    ----------
    valued
        A ``Valuation`` or its positions frame.
    by
        Dimension to measure (``issuer`` or ``country`` usually).
    top
        The N of the top-N shares.
    value
        ``value`` (clean) or ``dirty_value``.
    max_unvalued_share
        Above this share of unvalued positions the result is ``trusted=False``
        (default: the ``max_unvalued_share`` setting).

    Returns
    -------
    Concentration
    """
    table = exposure(valued, by, value=value, sort="value")
    table = table[table["bucket"] != UNVALUED]
    missing = unvalued_share(frame_of(valued))
    unclassified = table["bucket"] == UNCLASSIFIED
    unclassified_share = float(table.loc[unclassified, "share"].sum())
    names = table[~unclassified & (table["value"] != 0)]
    shares = names["share"].to_numpy(dtype=float)
    ranked = np.sort(shares)[::-1]
    hhi = float(np.sum(shares ** 2)) if len(shares) else 0.0
    if not np.isfinite(hhi):  # total value 0: shares undefined
        hhi = float("nan")
    return Concentration(
        dimension=by,
        names=int(len(names)),
        top={int(n): _nan_to_none(float(ranked[: int(n)].sum())) for n in top},
        hhi=_nan_to_none(hhi),
        effective_names=_nan_to_none(1.0 / hhi) if hhi and np.isfinite(hhi) else None,
        largest=str(names["bucket"].iloc[0]) if len(names) else None,
        largest_share=_nan_to_none(float(names["share"].iloc[0])) if len(names) else None,
        unclassified_share=_nan_to_none(unclassified_share) or 0.0,
        unvalued_share=missing, trusted=missing <= max_unvalued(max_unvalued_share),
    )


def check_limits(valued: Valuation | pd.DataFrame, limits: Mapping[str, float], *,
                 value: str = "value", max_unvalued_share: float | None = None
                 ) -> pd.DataFrame:
    """Buckets whose share of total value is above the limit of their dimension.

    Parameters
    ----------
    valued
        A ``Valuation`` or its positions frame.
    limits
        ``{dimension: maximum share}``, e.g. ``{"issuer": 0.10, "country": 0.35}``;
        shares are fractions of total value.
    value
        ``value`` (clean) or ``dirty_value``.
    max_unvalued_share
        Above this share of unvalued positions no breach is computed (default:
        the ``max_unvalued_share`` setting).

    Returns
    -------
    pandas.DataFrame
        One row per breach: ``dimension, bucket, value, share, limit, excess``
        (share minus limit), ``status`` ``breach``, largest excess first. An
        ``unclassified`` bucket over the limit is listed too: it cannot be
        shown to comply. When too many positions are unvalued, one row per
        limit instead, ``status`` ``unchecked``, bucket, value, share and
        excess missing, ``unvalued_share`` saying why.
    """
    rows = []
    missing = unvalued_share(frame_of(valued))
    trusted = missing <= max_unvalued(max_unvalued_share)
    for dimension, limit in limits.items():
        if not isinstance(limit, int | float) or isinstance(limit, bool) or not 0 <= limit <= 1:
            raise ValidationError(f"limit for {dimension!r} must be a share between 0 and 1, "
                                  f"not {limit!r}", column=dimension, value=limit)
        if dimension not in DIMENSIONS and dimension not in frame_of(valued):
            raise ValidationError(f"no dimension {dimension!r} to limit; dimensions are "
                                  f"{', '.join(DIMENSIONS)}", column=dimension)
        if not trusted:
            rows.append({"dimension": dimension, "bucket": None, "value": np.nan,
                         "share": np.nan, "limit": float(limit), "excess": np.nan,
                         "status": "unchecked", "unvalued_share": missing})
            continue
        table = exposure(valued, dimension, value=value)
        over = table[table["share"] > limit]
        for row in over.itertuples(index=False):
            rows.append({"dimension": dimension, "bucket": row.bucket, "value": row.value,
                         "share": row.share, "limit": float(limit),
                         "excess": row.share - float(limit), "status": "breach",
                         "unvalued_share": missing})
    out = pd.DataFrame(rows, columns=list(LIMIT_COLUMNS))
    return result_frame(out.sort_values("excess", ascending=False, kind="stable")
                        .reset_index(drop=True), valued)

