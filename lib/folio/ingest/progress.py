"""The progress contract of one import: one count that only goes up.

Owns what ``progress(done, total, stage)`` means wherever an import runs (in a
kernel's thread or on a Celery worker, which forwards it unchanged):

- ``done`` and ``total`` count *row steps*: each data row of the file is checked
  once, then written once (a row that is rejected, or not written because the
  store already holds the file, is done when writing starts), so a file of N
  rows has a total of 2 N;
- ``total`` is 0 while the number of rows is unknown (a large CSV is read a
  block at a time, and an estimate would drift) and fixed once known;
- ``done`` never goes down and ends at ``total``;
- ``stage`` says what the import does now: ``reading``, ``checking``, ``writing``.

A dry run follows the same contract: it checks each row and writes none, so
a row is done once checked (as a rejected row is once writing starts): each
row checked counts all its steps, and the count goes from 0 to the total in
stage ``checking``, as steadily as an import's goes through both stages. A
display that knows it shows a dry run says rows with ``dry_run=True``.

The stages report their own counts (the checker its rows, the store's copy the
rows it wrote); ``Monotone`` turns them into the one count, so no display ever
sees a bar empty when writing starts or a total that moves.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]  # (done, total, stage)
STAGES = ("reading", "checking", "writing")
STEPS_PER_ROW = 2  # checked, then written


def total_for(rows: int) -> int:
    """The contract's total for a file of ``rows`` data rows."""
    return STEPS_PER_ROW * rows


def steps_per_checked_row(dry_run: bool = False) -> int:
    """Row steps one checked row counts for: 1, or all of its steps in a dry run
    (which writes nothing). Divide a rate of steps by it for rows a second."""
    return STEPS_PER_ROW if dry_run else 1


def stage_rows(done: int, total: int, stage: str | None, *,
               dry_run: bool = False) -> tuple[int, int]:
    """(rows done in this stage, rows of the file) for a display: the count
    people read next to the bar (``writing 1,200 of 2,000 rows``)."""
    rows = total // STEPS_PER_ROW
    if stage == "writing" and rows:
        return max(0, done - rows), rows
    done //= steps_per_checked_row(dry_run)
    return min(done, rows) if rows else done, rows


def count_words(done: int, total: int, stage: str | None, *, dry_run: bool = False) -> str:
    """What the count says to people: ``checking 1,200/2,000 rows``, or
    ``checking 1,200 rows`` while the file's row count is unknown."""
    rows_done, rows = stage_rows(done, total, stage, dry_run=dry_run)
    count = f"{rows_done:,}/{rows:,} rows" if rows else f"{rows_done:,} rows"
    return f"{stage} {count}" if stage else count


class Monotone:
    """A progress callback that reports the contract's count to ``report``.

    Parameters
    ----------
    report
        Called as ``report(done, total, stage)`` with the one monotone count.
    dry_run
        The import writes nothing: each row checked is done.
    """

    def __init__(self, report: Progress, *, dry_run: bool = False) -> None:
        self._report = report
        self._per_checked_row = steps_per_checked_row(dry_run)
        self.done = 0
        self.total = 0
        self.rows = 0

    def rows_known(self, rows: int) -> None:
        """Fix the total: the file holds ``rows`` data rows (once known, never changed)."""
        if not self.total:
            self.rows, self.total = rows, total_for(rows)

    def __call__(self, done: int, total: int, stage: str) -> None:
        if stage == "checking":
            if total:  # the checker says 0 while it only estimates
                self.rows_known(total)
            value = done * self._per_checked_row
        elif stage == "writing":
            # ``total`` rows are written of the file's ``rows``: the others are
            # done already (rejected, or held by the store).
            value = self.rows + (self.rows - total) + done if self.rows else 0
        else:
            value = 0
        if self.total:
            value = min(value, self.total)
        self.done = max(self.done, value)
        self._report(self.done, self.total, stage)

    def finish(self, stage: str) -> None:
        """Every row step is done: report the count at its total (a dry run's,
        after checking: the count is there already, unless no row was found)."""
        self.done = self.total
        self._report(self.done, self.total, stage)
