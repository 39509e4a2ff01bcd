"""Accounts: which portfolio each account's positions go to, and what a result says of them.

Owns the naming of one portfolio per account (``PORTFOLIO-ACCOUNT``, the
portfolio itself for rows the file gives no account; refused past the store's
width) and the result's ``accounts`` and ``portfolios``. Which account a row is
in is the layout's (a title line or a column); writing every account's snapshot
in one transaction is the store's.
"""

from __future__ import annotations

from folio.errors import ValidationError
from folio.result import ImportResult
from folio.store.schema import portfolios


def accounts_into(result: ImportResult, portfolio: str, per_account: bool,
                  counts: dict[str | None, int], file: str | None = None) -> None:
    """The result's accounts (account -> positions) and, one portfolio per account,
    the portfolios written (or a dry run's: those it would write)."""
    result.accounts = {a: n for a, n in counts.items() if a is not None}
    if per_account:
        result.portfolios = dict(sorted((account_portfolio(portfolio, a, file), n)
                                        for a, n in counts.items()))


def account_portfolio(portfolio: str, account: str | None, file: str | None = None) -> str:
    """The portfolio an account's positions go to with ``portfolio_per_account``:
    ``PORTFOLIO-ACCOUNT`` (``MAIN-Individual ...678``), or ``portfolio`` itself for
    rows the file gives no account.

    Raises
    ------
    ValidationError
        The name would be longer than the store holds.
    """
    if account is None:
        return portfolio
    name = f"{portfolio}-{account.strip()}"
    limit = portfolios.c.name.type.length
    if len(name) > limit:
        raise ValidationError(
            f"{file or 'file'}: portfolio name {name[:40]!r}... for account {account!r} is "
            f"{len(name)} characters, over the limit of {limit}; import without "
            f"portfolio_per_account, or under a shorter portfolio name", file=file,
            column="account", value=account)
    return name
