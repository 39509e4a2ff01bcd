"""The ``folio`` command: import, imports, status, issues, report, worker, reference,
mapping, demo (and, from ``cli_analysis``, the commands over stored portfolios).

Owns argument parsing, output (text or ``--json``; a progress bar for an import
on a terminal) and exit status: 0 when an import succeeded, partly succeeded or
was unchanged; 1 when it failed or could not run, with the reason on stderr
(one line with ``--json``); 2 for a usage error. Its words for people (help,
examples, hints in CLI syntax) are in ``cli_help``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from folio import __version__, catalog, display
from folio.cli_analysis import add_commands, json_records, print_json
from folio.cli_help import EPILOG, PROLOG, for_terminal, parser_options
from folio.config import PROJECT_DATA, configure, get_settings
from folio.errors import FolioError
from folio.execution.submit import submit_import
from folio.result import ImportResult
from folio.store.reference import load_reference

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(exc: FolioError, as_json: bool, **extra) -> int:
    if as_json:
        print_json({"import_id": getattr(exc, "import_id", None), "status": "failed",
                     **extra, "error": exc.message, "details": exc.to_dict()})
    # The hints in this command's syntax; the whole message on a terminal (a
    # mapping error's command to save one), its first line beside --json.
    message = f"folio: {for_terminal(exc.message)}"
    print(message.splitlines()[0] if as_json else message, file=sys.stderr)
    return EXIT_FAILED


def _exit_for(result: ImportResult) -> int:
    if result.ok:
        return EXIT_OK
    print(f"folio: import {result.import_id} of {result.file} failed: {result.error}",
          file=sys.stderr)
    return EXIT_FAILED


def cmd_import(args) -> int:
    job = submit_import(args.file, args.portfolio, as_of=args.as_of, via=args.via,
                        mapping=args.mapping, sheet=args.sheet, preset=args.preset,
                        dry_run=args.dry_run,
                        base_currency=args.base_currency, new_portfolio=args.new_portfolio,
                        missing_csv=args.missing_csv if args.dry_run else None,
                        portfolio_per_account=args.portfolio_per_account,
                        decimal=args.decimal)
    try:
        if not args.json and not args.dry_run:
            print(f"{job.file} -> {job.portfolio} via {job.via} (import {job.id})",
                  file=sys.stderr)
        if not args.json and sys.stderr.isatty():  # quiet for scripts and pipes
            from folio.widgets.progress import follow_text

            follow_text(job, sys.stderr)
        result = job.result()
    except FolioError as exc:
        if not getattr(exc, "import_id", None) and not job.dry_run:
            exc.import_id = job.id
        if job.dry_run and not args.json and getattr(exc, "guesses", None):
            return _dry_run_guessed(args, exc)
        return _fail(exc, args.json, via=job.via, task_id=job.task_id,
                     fallback_reason=job.fallback_reason)
    _print_result(args, result)
    return _exit_for(result)


def _dry_run_guessed(args, exc: FolioError) -> int:
    """A dry run of a file folio cannot map: its guesses, and what they would read."""
    from folio.ingest.columns import missing_fields
    from folio.ingest.pipeline import PLACEHOLDER_CURRENCY

    print(exc.message)
    left = missing_fields(exc.guesses.values())
    # ISO 4217's "no currency": enough to preview, never a guess to store.
    constants = {"currency": PLACEHOLDER_CURRENCY} if left == ["currency"] else {}
    if left and not constants:
        return EXIT_FAILED  # the guesses are not enough to read positions with
    print("\nread with the guessed mapping" + (
        f" (the file names no currency: shown as {PLACEHOLDER_CURRENCY}; give yours with "
        f"--constant currency=CODE when you save the mapping)" if constants else "") + ":")
    try:
        result = submit_import(args.file, args.portfolio, as_of=args.as_of, via="local",
                               mapping=exc.guesses, constants=constants, sheet=args.sheet,
                               dry_run=True).result()
    except FolioError as again:
        print(f"folio: {again.message}".splitlines()[0], file=sys.stderr)
        return EXIT_FAILED
    _print_result(args, result, guessed=True)
    return EXIT_FAILED  # nothing is saved yet: the user is to check and save the mapping


def _print_result(args, result: ImportResult, guessed: bool = False) -> None:
    if args.json:
        print_json(result.to_dict())
    else:
        print(for_terminal(result.summary()))
        if result.status == "dry_run" and not result.preset:
            print(("  guessed mapping: " if guessed else "  mapping: ")
                  + ", ".join(f"{c!r} -> {f}" for c, f in result.mapping.items()))
        if result.status == "dry_run" and not result.row_roles:
            print("  other lines: none (every line below the header is a position)")
        if result.preview is not None and not result.preview.empty:
            print("  preview:")
            print("    " + result.preview.head(5).to_string(index=False).replace("\n", "\n    "))


IMPORT_COLUMNS = ["id", "status", "portfolio", "as_of", "file_name", "rows_total",
                  "rows_imported", "rows_rejected", "warnings", "via", "created_at",
                  "finished_at", "error"]


def cmd_imports(args) -> int:
    frame = catalog.imports(args.portfolio)
    frame = frame[IMPORT_COLUMNS] if not frame.empty else frame
    if args.json:
        print_json(json_records(frame))
        return EXIT_OK
    if frame.empty:
        print(f"no imports of {args.portfolio} yet" if args.portfolio else "no imports yet")
        return EXIT_OK
    shown = pd.DataFrame({
        "portfolio": frame["portfolio"],
        "as of": frame["as_of"].map(lambda d: f"{d:%Y-%m-%d}" if pd.notna(d) else ""),
        "file": frame["file_name"], "status": frame["status"],
        "rows imported": [f"{i:,} of {t:,}" for i, t in
                          zip(frame["rows_imported"], frame["rows_total"], strict=True)],
        "via": frame["via"],
        "started": frame["created_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}" if pd.notna(t)
                                           else ""),
        "import id": frame["id"],  # for folio status / folio issues
    })
    print(shown.to_string(index=False))
    return EXIT_OK


def cmd_status(args) -> int:
    result = catalog.get_import(args.import_id)
    if args.json:
        print_json(result.to_dict())
    else:
        print(for_terminal(result.summary()))
    return EXIT_OK if result.status != "failed" else EXIT_FAILED


ISSUE_ROWS_SHOWN = 20  # the first rows ``folio issues`` prints after the counts


def cmd_issues(args) -> int:
    if args.csv == "-":  # every issue, a part at a time: there may be millions
        catalog.write_issues(args.import_id, sys.stdout)
        return EXIT_OK
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            written = catalog.write_issues(args.import_id, out)
        print(f"import {args.import_id}: {written:,} issue(s) written to {args.csv}")
        return EXIT_OK
    if args.all:
        first = True
        for frame in catalog.issue_frames(args.import_id):
            print(frame.to_string(index=False, header=first))
            first = False
        if first:
            print(f"import {args.import_id}: no issues")
        return EXIT_OK
    # As the widget's IssuesView: the count by code and column first (every issue,
    # counted a part at a time), then the first rows, and how to get them all.
    head: list[pd.DataFrame] = []
    total = 0

    def parts():
        nonlocal total
        for frame in catalog.issue_frames(args.import_id):
            total += len(frame)
            if sum(map(len, head)) < ISSUE_ROWS_SHOWN:
                head.append(frame.head(ISSUE_ROWS_SHOWN))
            yield frame

    counts = display.issue_counts(parts())
    if not total:
        print(f"import {args.import_id}: no issues")
        return EXIT_OK
    print(f"import {args.import_id}: {total:,} issue{'s' if total != 1 else ''}, "
          f"by code and column:")
    print(counts.to_string(index=False))
    rows = pd.concat(head).head(ISSUE_ROWS_SHOWN)
    print(f"\n{'the first ' + format(len(rows), ',') + ' rows' if total > len(rows) else 'rows'}:")
    print(rows.to_string(index=False))
    if total > len(rows):
        print(f"\n{total - len(rows):,} more: folio issues {args.import_id} --all prints "
              f"them all; --csv FILE writes them for a spreadsheet")
    return EXIT_OK


def cmd_reference(args) -> int:
    try:
        loaded = load_reference(args.paths or None, quote=args.quote, decimal=args.decimal)
    except FolioError as exc:
        if not args.json:
            raise
        print_json({"status": "failed", "error": exc.message, "details": exc.to_dict()})
        print(f"folio: {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print_json({"status": "loaded", **loaded.to_dict()})
    else:
        print(for_terminal(loaded.summary()))
    return EXIT_OK


def cmd_mapping(args) -> int:
    if args.action == "list":
        saved = catalog.mappings()
        if args.json:
            print_json(saved)
        for name, cols in saved.items():
            if not args.json:
                print(f"{name}: " + ", ".join(f"{c!r} -> {f}" for c, f in cols.items()))
        return EXIT_OK
    pairs = {}
    for item in args.pairs:
        column, sep, field = item.rpartition("=")
        if not sep or not column:
            raise SystemExit(f"folio: mapping pair {item!r} is not 'file column=field'")
        pairs[column] = field.strip()
    constants = {}
    for item in args.constant or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"folio: --constant {item!r} is not 'field=value'")
        constants[name.strip()] = value.strip()
    rows = [{"column": c, "match": m, "role": r} for c, m, r in args.row or ()]
    header = catalog.file_header(args.header_from) if args.header_from else None
    catalog.save_mapping(args.name, pairs, header=header, constants=constants, rows=rows,
                         decimal=args.decimal)
    print(f"saved mapping {args.name!r}: {len(pairs)} columns"
          + (f", {len(constants)} constants" if constants else "")
          + (f", {len(rows)} row rules" if rows else "")
          + (f"; used for files whose header is that of {args.header_from}" if header else ""))
    return EXIT_OK


def cmd_presets(args) -> int:
    found = catalog.presets()
    if args.json:
        print_json(found)
    else:
        for preset in found:
            print(f"{preset['name']}{' (yours)' if preset['user'] else ''}: "
                  f"{preset['description']}")
    return EXIT_OK


def cmd_portfolios(args) -> int:
    frame = catalog.portfolios()
    if args.json:
        print_json(json_records(frame))
    else:
        print(frame.to_string(index=False) if not frame.empty else "no portfolios yet")
    return EXIT_OK


def cmd_demo(args) -> int:
    from folio.demo import run_demo

    return run_demo(Path(args.data) if args.data else PROJECT_DATA, via=args.via)


def cmd_report(args) -> int:
    from folio.analytics import format_report, parse_limits, report

    limits = parse_limits(args.limit or ())  # 10%, 0.10 or 0,10; a bad one is a typed error
    data = report(args.portfolio, args.as_of, args.base_currency, limits=limits or None,
                  strict=args.strict)
    written = (data.to_excel(args.xlsx, scenarios=args.scenario or None)
               if args.xlsx else None)
    if args.json:
        print_json({**data, **({"xlsx": str(written)} if written else {})})
    else:
        print(format_report(data))
        if written:
            print(f"wrote {written}")
    return EXIT_OK


def cmd_worker(args) -> int:
    from folio.execution import worker

    if args.reload:
        forwarded = [a for a in sys.argv[1:] if a != "--reload"]
        return worker.reload_worker(forwarded[forwarded.index("worker") + 1:])
    return worker.run_worker(pool=args.pool, concurrency=args.concurrency,
                             parent_pid=args.parent_pid, loglevel=args.loglevel,
                             hostname=args.hostname, queues=args.queues,
                             task_events=args.task_events, autoscale=args.autoscale)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="folio", description=PROLOG, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"folio {__version__}")
    parser.add_argument("--home", help="folder of the embedded store (default FOLIO_HOME)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **options) -> argparse.ArgumentParser:
        return sub.add_parser(name, **parser_options(name, options.pop("help", None)),
                              **options)

    p = command("import", help="import a holdings file (CSV or XLSX)")
    p.add_argument("file")
    p.add_argument("--portfolio", "-p", required=True)
    p.add_argument("--as-of", help="snapshot date YYYY-MM-DD (default: the file's date column)")
    p.add_argument("--via", choices=["local", "celery", "auto"], default=None,
                   help="where to run it (default FOLIO_EXECUTION)")
    p.add_argument("--mapping", help="name of a saved column mapping")
    p.add_argument("--sheet", help="XLSX sheet name")
    p.add_argument("--preset", help="read the file with this preset (folio presets lists them)")
    p.add_argument("--base-currency", help="base currency of a new portfolio")
    p.add_argument("--new-portfolio", action="store_true",
                   help="create PORTFOLIO even if it differs from an existing one only by "
                        "case or accents")
    p.add_argument("--dry-run", action="store_true", help="read, map and validate; write nothing")
    p.add_argument("--portfolio-per-account", action="store_true",
                   help="write each account the file names to its own portfolio, "
                        "PORTFOLIO-ACCOUNT (all or nothing)")
    p.add_argument("--decimal", choices=[",", "."],
                   help="the file's decimal mark, where its cells do not tell (every number "
                        "a 655.957 or a 1,500)")
    p.add_argument("--missing-csv", metavar="PATH",
                   help="with --dry-run: write instruments missing from the reference here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_import)

    p = command("imports", help="list imports with their ids and statuses")
    p.add_argument("portfolio", nargs="?", help="only this portfolio's")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_imports)

    p = command("status", help="show an import")
    p.add_argument("import_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = command("issues", help="list the issues of an import")
    p.add_argument("import_id")
    p.add_argument("--csv", nargs="?", const="-", metavar="FILE",
                   help="every issue as CSV, for a spreadsheet: into FILE, or to the "
                        "output without one")
    p.add_argument("--all", action="store_true",
                   help="print every issue row (by default: the count by code and column, "
                        "then the first rows)")
    p.set_defaults(func=cmd_issues)

    p = sub.add_parser("reference", help="load instruments, FX rates and prices (CSV, XLSX, "
                       "ECB rate files); says what it added, replaced and skipped")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="folders or files; default: the project's data/reference")
    p.add_argument("--quote", metavar="CCY",
                   help="the currency of a rates table with one currency column "
                        "(Devise;Date;Cours): XOF for BCEAO, XAF for BEAC")
    p.add_argument("--decimal", choices=[",", "."],
                   help="the files' decimal mark, where their cells do not tell (every "
                        "rate a 655.957)")
    p.add_argument("--json", action="store_true", help="the counts as JSON")
    p.set_defaults(func=cmd_reference)

    p = command("mapping", help="save or list column mappings")
    msub = p.add_subparsers(dest="action", required=True)
    m = msub.add_parser("save", help="save NAME 'file column=field' ...")
    m.add_argument("name")
    m.add_argument("pairs", nargs="+")
    m.add_argument("--header-from", metavar="FILE",
                   help="the file the mapping is for: its header becomes the signature")
    m.add_argument("--constant", action="append", metavar="FIELD=VALUE",
                   help="a field the file does not give (e.g. currency=XOF); repeatable")
    m.add_argument("--row", action="append", nargs=3, metavar=("COLUMN", "REGEX", "ROLE"),
                   help="lines whose COLUMN matches REGEX have ROLE (cash, total, lot, ...)")
    m.add_argument("--decimal", choices=[",", "."], help="the file's decimal mark")
    m = msub.add_parser("list")
    m.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mapping)

    p = sub.add_parser("presets", help="list the broker and custodian formats folio reads")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("portfolios", help="list portfolios")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_portfolios)

    p = command("report", help="valuation, exposures, concentration and flags")
    p.add_argument("portfolio")
    p.add_argument("--as-of", help="snapshot date (default: the latest)")
    p.add_argument("--base-currency", help="value in this currency instead of the portfolio's")
    p.add_argument("--limit", action="append", metavar="DIMENSION=SHARE",
                   help="a concentration limit, e.g. issuer=10%%, issuer=0.10 or issuer=0,10 "
                        "(repeatable)")
    p.add_argument("--strict", action="store_true",
                   help="refuse to report (exit 1) when any position has no value")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--xlsx", metavar="PATH", help="also write the report as an Excel workbook "
                   "(needs the excel extra: pip install 'folio[excel]')")
    p.add_argument("--scenario", action="append", metavar="NAME",
                   help="stress scenario for the workbook's stress sheet (repeatable; "
                        "default every shipped scenario)")
    p.set_defaults(func=cmd_report)
    add_commands(sub)  # the commands over stored portfolios (cli_analysis)

    # Celery's own worker options, spelt as `celery worker` spells them.
    p = command("worker", help="run a Celery worker for imports (solo pool by default)")
    p.add_argument("-P", "--pool", choices=["solo", "prefork", "threads"],
                   help="default solo (always solo on Windows)")
    p.add_argument("-c", "--concurrency", type=int, help="processes (prefork) or threads")
    p.add_argument("--autoscale", metavar="MAX,MIN", help="prefork processes, grown and shrunk")
    p.add_argument("-Q", "--queues", metavar="QUEUE", help="the queue to consume "
                   "(default FOLIO_QUEUE)")
    p.add_argument("-n", "--hostname", metavar="NAME@HOST",
                   help="the Celery node name; %%h, %%n and %%d expand as in Celery")
    p.add_argument("-E", "--task-events", action="store_true",
                   help="send task events (for Flower and `celery events`)")
    p.add_argument("-l", "--loglevel", default="INFO")
    p.add_argument("--reload", action="store_true", help="restart when folio's code changes")
    p.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="load the sample reference data and import every sample file")
    p.add_argument("--data", help="default: the project's data/")
    p.add_argument("--via", choices=["local", "celery", "auto"], default=None)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.home:
        configure(home=args.home)
    try:
        get_settings()
        return args.func(args)
    except FolioError as exc:
        return _fail(exc, getattr(args, "json", False) and args.command == "import")
    except BrokenPipeError:  # `folio report X | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
