"""The ``folio`` subcommands over stored portfolios: ``portfolio set-base``,
``stress``, ``changes`` and ``history``.

Owns their arguments and output (text, or ``--json``: one object whose numbers
are the analytics' own, NaN as null); ``cli.py`` adds them to its parser with
``add_commands`` and keeps the exit-status rules (0 done, 1 with a one-line
reason on stderr for a ``FolioError``, 2 for a usage error).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from folio.cli_help import parser_options
from folio.display import MISSING, formatted
from folio.ingest.currencies import minor_units

EXIT_OK = 0
TOP_CHANGES = 20  # positions a text ``changes`` lists; --json lists them all


def print_json(obj) -> None:
    """What every ``--json`` of the command line prints."""
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if hasattr(value, "isoformat"):
        if not hasattr(value, "hour"):
            return value.isoformat()
        # A timestamp at midnight is a day (an as-of date read as datetime64)
        timed = (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0)
        return value.isoformat(sep=" ") if timed else value.isoformat()[:10]
    return None if value is None or value != value else value


def json_records(frame) -> list[dict[str, Any]]:
    """A table as JSON rows: missing values null, days as ISO dates, times as ISO times."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _money(x: Any, currency: str | None = None) -> str:
    """One amount as the tables show it: thousands separators, the currency's minor units."""
    if x is None or x != x:
        return MISSING
    return f"{x:,.{minor_units(currency, default=2)}f}"


def _pct(x: Any) -> str:
    return MISSING if x is None or x != x else f"{x:.1%}"


def _show(frame, currency: str | None, shares: tuple[str, ...] = ()) -> str:
    """A table as text by the display rules every folio table follows (folio.display)."""
    return formatted(frame, currency=currency, shares=shares).to_string(index=False)


def cmd_stress(args) -> int:
    from folio.analytics import stress, value_snapshot

    valuation = value_snapshot(args.portfolio, args.as_of, args.base_currency)
    # Several scenarios apply together, as stress() composes a list.
    result = stress(valuation, args.scenarios if len(args.scenarios) > 1 else args.scenarios[0])
    totals = result.totals()
    tables = {dim: result.by(dim) for dim in args.by or ("currency", "asset_class")}
    if args.json:
        print_json({"portfolio": args.portfolio, "as_of": _plain(valuation.as_of),
                     **{k: _plain(v) if not isinstance(v, list) else v
                        for k, v in totals.items()},
                     "by": {dim: json_records(t) for dim, t in tables.items()}})
        return EXIT_OK
    ccy = totals["base_currency"]
    print(f"{args.portfolio} as of {valuation.as_of}: {totals['scenario']} (values in {ccy})")
    print(f"  before {_money(totals['before'], ccy)}  after {_money(totals['after'], ccy)}  "
          f"change {_money(totals['change'], ccy)} ({_pct(totals['change_share'])})")
    if totals["unvalued_positions"]:
        print(f"  {totals['unvalued_positions']} unvalued position(s): in no figure, "
              "their move unknown")
    if totals["duration_approx_positions"]:
        print(f"  {totals['duration_approx_positions']} bond(s) with a duration approximated "
              "from the maturity")
    for dim, table in tables.items():
        print(f"\nBy {dim}")
        print(_show(table, ccy))
    return EXIT_OK


def cmd_changes(args) -> int:
    from folio.analytics import snapshot_changes

    changes = snapshot_changes(args.portfolio, args.before, args.after,
                               base_currency=args.base_currency)
    summary = changes.summary()
    if args.json:
        print_json({"portfolio": args.portfolio, "summary": {k: _plain(v) for k, v in
                                                               summary.items()},
                     "positions": json_records(changes.positions)})
        return EXIT_OK
    ccy = summary["base_currency"]
    print(f"{args.portfolio}: {summary['as_of_before']} -> {summary['as_of_after']} "
          f"(values in {ccy})")
    money = {k: _money(summary[k], ccy) for k in ("value_before", "value_after", "change",
                                                  "quantity_effect", "price_effect", "fx_effect")}
    print(f"  value {money['value_before']} -> {money['value_after']}: "
          f"change {money['change']} = quantity {money['quantity_effect']}"
          f" + price {money['price_effect']} + FX {money['fx_effect']}")
    counts = ", ".join(f"{summary[s]} {s.replace('_', ' ')}" for s in
                       ("added", "removed", "changed", "unchanged", "rejected",
                        "removed_or_rejected") if summary[s])
    print(f"  positions: {counts or 'none'}")
    if summary["unattributed"]:
        print(f"  {summary['unattributed']} position(s) without a value on one date: "
              "not attributed")
    for side in ("before", "after"):
        if summary[f"incomplete_{side}"]:
            print(f"  INCOMPLETE {side}: {summary[f'rejected_rows_{side}']} row(s) rejected at "
                  f"import, carrying {_money(summary[f'rejected_value_{side}'], ccy)} {ccy}")
    moved = changes.positions.head(args.top)
    if len(moved):
        print()
        print(_show(moved[["identifier", "currency", "status", "value_before", "value_after",
                           "change", "quantity_effect", "price_effect", "fx_effect"]], ccy))
        if len(changes.positions) > args.top:
            print(f"... and {len(changes.positions) - args.top} more (--top N, or --json)")
    return EXIT_OK


def cmd_history(args) -> int:
    from folio.analytics import exposure_history, history, value_snapshot

    valuation = value_snapshot(args.portfolio, None, args.base_currency, all_dates=True)
    table = history(valuation)
    shares = exposure_history(valuation, args.by) if args.by else None
    if args.json:
        print_json({"portfolio": args.portfolio, "base_currency": valuation.base_currency,
                     "dates": json_records(table),
                     **({"by": args.by, "shares": json_records(shares.reset_index())}
                        if shares is not None else {})})
        return EXIT_OK
    print(f"{args.portfolio} (values in {valuation.base_currency})")
    print(_show(table[["as_of", "positions", "value", "unvalued_positions", "unvalued_share",
                       "flagged_share", "incomplete", "rejected_rows", "rejected_value"]],
                valuation.base_currency))
    if shares is not None:
        print(f"\nShare of value by {args.by}")
        shown = shares.reset_index()
        print(_show(shown, valuation.base_currency,
                    shares=tuple(c for c in shown.columns if c != "as_of")))
    return EXIT_OK


def cmd_portfolio(args) -> int:
    from folio import catalog

    before = catalog.set_base_currency(args.name, args.currency)
    after = args.currency.strip().upper()
    if getattr(args, "json", False):
        print_json({"portfolio": args.name, "base_currency": after, "was": before})
    else:
        print(f"portfolio {args.name}: base currency {after} (was {before})")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the ``folio`` parser's ``sub``."""
    p = sub.add_parser("portfolio", help="change a stored portfolio")
    psub = p.add_subparsers(dest="action", required=True)
    s = psub.add_parser("set-base", help="set NAME's base currency to CCY (positions keep "
                                         "their own currencies; reports value in CCY)")
    s.add_argument("name")
    s.add_argument("currency", metavar="CCY")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_portfolio)

    p = sub.add_parser("stress", **parser_options("stress", "apply stress scenarios to a portfolio's snapshot"))
    p.add_argument("portfolio")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                   help="a name in data/scenarios or a YAML file; several apply together")
    p.add_argument("--as-of", help="snapshot date (default: the latest)")
    p.add_argument("--base-currency", help="value in this currency instead of the portfolio's")
    p.add_argument("--by", action="append", metavar="DIMENSION",
                   help="break the change down by this dimension (repeatable; default "
                        "currency and asset_class)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_stress, by=None)

    p = sub.add_parser("changes", **parser_options("changes", "what changed between two snapshots, and why"))
    p.add_argument("portfolio")
    p.add_argument("before", nargs="?", metavar="FROM",
                   help="earlier snapshot date (default: the one before TO)")
    p.add_argument("after", nargs="?", metavar="TO", help="later snapshot date (default: latest)")
    p.add_argument("--base-currency", help="value in this currency instead of the portfolio's")
    p.add_argument("--top", type=int, default=TOP_CHANGES,
                   help=f"positions listed, largest change first (default {TOP_CHANGES})")
    p.add_argument("--json", action="store_true", help="print one JSON object (every position)")
    p.set_defaults(func=cmd_changes)

    p = sub.add_parser("history", **parser_options("history", "a portfolio's totals over its snapshot dates"))
    p.add_argument("portfolio")
    p.add_argument("--by", metavar="DIMENSION", help="also each bucket's share per date")
    p.add_argument("--base-currency", help="value in this currency instead of the portfolio's")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_history)
