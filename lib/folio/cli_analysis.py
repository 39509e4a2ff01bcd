"""The ``folio`` subcommands over stored portfolios: ``portfolio set-base``.

Owns their arguments and output (text or ``--json``); ``cli.py`` adds them to
its parser with ``add_commands`` and keeps the exit-status rules (0 done, 1
with a one-line reason on stderr for a ``FolioError``, 2 for a usage error).
"""

from __future__ import annotations

import argparse
import json

EXIT_OK = 0


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def cmd_portfolio(args) -> int:
    from folio import catalog

    before = catalog.set_base_currency(args.name, args.currency)
    after = args.currency.strip().upper()
    if getattr(args, "json", False):
        _print_json({"portfolio": args.name, "base_currency": after, "was": before})
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
