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
once checked its rows are done (as rejected rows are) and its count ends at
the total in stage ``checking``.

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


def stage_rows(done: int, total: int, stage: str | None) -> tuple[int, int]:
    """(rows done in this stage, rows of the file) for a display: the count
    people read next to the bar (``writing 1,200 of 2,000 rows``)."""
    rows = total // STEPS_PER_ROW
    if stage == "writing" and rows:
        return max(0, done - rows), rows
    return min(done, rows) if rows else done, rows


def count_words(done: int, total: int, stage: str | None) -> str:
    """What the count says to people: ``checking 1,200/2,000 rows``, or
    ``checking 1,200 rows`` while the file's row count is unknown."""
    rows_done, rows = stage_rows(done, total, stage)
    count = f"{rows_done:,}/{rows:,} rows" if rows else f"{rows_done:,} rows"
    return f"{stage} {count}" if stage else count


class Monotone:
    """A progress callback that reports the contract's count to ``report``.

    Parameters
    ----------
    report
        Called as ``report(done, total, stage)`` with the one monotone count.
    """

    def __init__(self, report: Progress) -> None:
        self._report = report
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
            value = done
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
        """Every row step is done: report the count at its total.

        A dry run calls it after checking: it writes nothing, so its rows are
        done once checked.
        """
        self.done = self.total
        self._report(self.done, self.total, stage)
