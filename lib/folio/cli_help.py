"""The ``folio`` command's words for people: help with examples, and hints in CLI syntax.

Owns the texts ``cli.py`` shows (each command's description and examples, as
data) and ``for_terminal``, which rewrites the hints of an error raised from the
command line into the command's own syntax: the library's errors speak Python
(``via='local'``, ``as_of=``), which a terminal user cannot type.
"""

from __future__ import annotations

import re

PROLOG = """\
Import portfolio holdings files (CSV or XLSX, from brokers and custodians) into a
store, check them row by row, and analyse what they hold."""

EPILOG = """\
examples:
  folio demo                                   import the sample files, then look around
  folio import holdings.csv -p TRESO-SN        import a file (progress on a terminal)
  folio import releve.xlsx -p TRESO-SN --dry-run    see what would be imported
  folio imports TRESO-SN                       the imports of a portfolio, with their ids
  folio issues IMPORT_ID --csv issues.csv     every problem found, for a spreadsheet
  folio report TRESO-SN --limit issuer=10%     valuation, exposures, concentration
  folio worker                                 run imports on a Celery worker

Settings come from the environment (FOLIO_HOME, FOLIO_DATABASE_URL,
FOLIO_BROKER_URL, FOLIO_EXECUTION ...). `folio COMMAND --help` says more."""

# command -> (description, examples): what `folio COMMAND --help` shows.
COMMANDS: dict[str, tuple[str, str]] = {
    "import": (
        "Read a holdings file, check every row and store its positions as one snapshot "
        "of PORTFOLIO. The import is atomic: a failed import changes nothing. On a "
        "terminal a progress bar shows rows checked, then written (not with --json).",
        """\
examples:
  folio import holdings.csv -p TRESO-SN
  folio import releve.csv -p TRESO-SN --as-of 2024-01-31 --via local
  folio import export.xlsx -p PENSION-CM --sheet Positions --base-currency XAF
  folio import odd.csv -p TRESO-SN --dry-run          # what would be imported; writes nothing
  folio import odd.csv -p TRESO-SN --mapping my-custodian
  folio import holdings.csv -p treso-sn --new-portfolio  # create it though TRESO-SN exists"""),
    "imports": (
        "List imports, oldest first: their ids (for `folio status` and `folio issues`), "
        "statuses, files and row counts.",
        """\
examples:
  folio imports
  folio imports TRESO-SN
  folio imports TRESO-SN --json"""),
    "status": (
        "Show one import: what it did, its counts and its first issues.",
        """\
examples:
  folio status IMPORT_ID
  folio status IMPORT_ID --json"""),
    "issues": (
        "The problems an import found in its file: counted by code and column, then "
        "the first rows (row, column, code, value, message).",
        """\
examples:
  folio issues IMPORT_ID                       the counts, then the first rows
  folio issues IMPORT_ID --all                 every row
  folio issues IMPORT_ID --csv issues.csv      every row, for a spreadsheet
  folio issues IMPORT_ID --csv > issues.csv    the same, to the output"""),
    "mapping": (
        "Save a column mapping for files folio cannot read by itself (a preset of "
        "your own), or list the saved ones.",
        """\
examples:
  folio mapping save my-custodian "Code valeur=identifier" "Qté=quantity" \\
      --header-from releve.csv --constant currency=XOF
  folio mapping list"""),
    "worker": (
        "Run a Celery worker that takes imports from the queue (FOLIO_BROKER_URL); "
        "stop it with Ctrl-C.",
        """\
examples:
  folio worker
  folio worker -P prefork -c 2
  folio worker --reload          # restart when folio's code changes"""),
    "report": (
        "Value a portfolio and show its exposures, concentration and flags.",
        """\
examples:
  folio report TRESO-SN
  folio report TRESO-SN --as-of 2024-01-31 --limit issuer=10% --json
  folio report TRESO-SN --xlsx treso.xlsx      one workbook (pip install 'folio[excel]')"""),
    "stress": (
        "Apply stress scenarios (names in data/scenarios, or YAML files) to a snapshot; "
        "several scenarios apply together. Unvalued positions are counted apart.",
        """\
examples:
  folio stress PENSION-CM cfa_peg_break
  folio stress PENSION-CM cfa_peg_break em_rates_200bp --by country --json"""),
    "changes": (
        "What changed between two snapshots: positions added, removed, changed, and the "
        "value change split into quantity, price and FX effects.",
        """\
examples:
  folio changes PENSION-CM                      the last two snapshots
  folio changes PENSION-CM 2024-02-29 2024-03-31 --json"""),
    "history": (
        "A portfolio's totals per snapshot date (unvalued and rejected rows apart), and "
        "with --by the share of each bucket per date.",
        """\
examples:
  folio history PENSION-CM
  folio history PENSION-CM --by region --json"""),
}


def parser_options(name: str, help: str) -> dict:
    """The ``add_parser`` options of command ``name``: its help line, and the
    description and examples of ``COMMANDS`` (kept as written)."""
    import argparse

    description, examples = COMMANDS.get(name, (help, None))
    return {"help": help, "description": description, "epilog": examples,
            "formatter_class": argparse.RawDescriptionHelpFormatter}

# (Python spelling, CLI spelling) of the hints errors give; applied in order.
_HINTS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"pass as_of= \(or --as-of YYYY-MM-DD\)", "pass --as-of YYYY-MM-DD"),
    (r"pass as_of=(?=\s|$)", "pass --as-of YYYY-MM-DD"),
    (r"\bas_of=(?!\w)", "--as-of"),
    (r"preset=NAME \(--preset NAME\)", "--preset NAME"),
    (r"\bvia=['\"]?(\w+)['\"]?", r"--via \1"),
    (r"\bnew_portfolio=True", "--new-portfolio"),
    (r"\bdecimal='[.,]' \(folio (?:import|reference) (--decimal '[.,]')\)", r"\1"),
    (r"missing_csv= or --missing-csv", "--missing-csv"),
    (r" or folio\.start_worker\(\)", ""),
    (r", or folio\.set_base_currency\([^)]*\)\)", ")"),
))


def for_terminal(message: str) -> str:
    """``message`` with its hints in the ``folio`` command's syntax.

    >>> for_terminal("no worker; start one with `folio worker` or folio.start_worker(), "
    ...              "or use via='local'")
    'no worker; start one with `folio worker`, or use --via local'
    """
    for pattern, replacement in _HINTS:
        message = pattern.sub(replacement, message)
    # A mapping error's Python call follows its command: a terminal needs the command.
    return re.sub(r"\n\s*or in Python:\n.*", "", message, flags=re.S)
