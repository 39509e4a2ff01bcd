"""Portfolio analytics over imported snapshots: pure functions over DataFrames.

Grouped API::

    # valuation: base-currency values, data-quality flags, unvalued positions apart
    v = value_positions(positions, base_currency="XAF", instruments=..., fx_rates=..., prices=...)
    v.positions; v.totals(); lookup_fx(currencies, dates, "XAF", fx_rates)
    shipped_pegs()                                   # legal parities used when no rate is loaded

    # exposures (asset classes by one taxonomy, country from the ISIN, region) and concentration
    exposure(v, "issuer"); exposures(v)            # bucket, value, share, positions
    concentration(v, "issuer"); check_limits(v, {"issuer": 0.10, "country": 0.35})
    parse_limits("issuer=10%, country=0,35")

    # stress scenarios (dicts or YAML files in data/scenarios/, checked; a list composes)
    stress(v, "cfa_peg_break").totals(); stress(v, {"fx": {"XAF": -0.2}}).by("country")
    stress(v, ["cfa_peg_break", "em_rates_200bp"]); compose([...]); asset_class("Actions")

    # changes between two snapshots, history over all dates
    compare_snapshots(v_before, v_after).summary(); history(v_all); exposure_history(v_all, "country")

    # charts (matplotlib Figures; the Dashboard draws the same)
    plot_exposure(v, "issuer"); plot_concentration(v, "issuer", limit=0.10)
    plot_stress(stress(v, "cfa_peg_break"), "currency"); plot_changes(changes); plot_history(v_all, "currency")

    # the store and the report (``folio report``)
    value_snapshot("PENSION-CM", "2024-03-31"); report("PENSION-CM"); format_report(report(...))
    report("PENSION-CM").to_excel("pension.xlsx")   # the excel extra: openpyxl

Nothing here imports Celery or ipywidgets (matplotlib only when a chart is drawn); only
``data`` (and ``report()``) read the store.
"""

from folio.analytics.changes import Changes, compare_snapshots
from folio.analytics.concentration import (
    Concentration,
    check_limits,
    concentration,
    parse_limits,
    parse_share,
)
from folio.analytics.data import (
    Snapshot,
    load_snapshot,
    snapshot_changes,
    snapshot_dates,
    value_snapshot,
)
from folio.analytics.exposures import (
    DIMENSIONS,
    MATURITY_BUCKETS,
    UNCLASSIFIED,
    UNVALUED,
    exposure,
    exposures,
    maturity_bucket,
)
from folio.analytics.fx import lookup_fx
from folio.analytics.history import exposure_history, history
from folio.analytics.pegs import read_pegs, shipped_pegs
from folio.analytics.plots import (
    plot_changes,
    plot_concentration,
    plot_exposure,
    plot_history,
    plot_stress,
)
from folio.analytics.report import build_report, format_report, report
from folio.analytics.scenarios import (
    Scenario,
    compose,
    list_scenarios,
    load_scenario,
    scenario_from_dict,
)
from folio.analytics.stress import StressResult, stress
from folio.analytics.totals import require_valued, unvalued_share
from folio.analytics.valuation import FLAGS, UNVALUED_REASONS, Valuation, value_positions
from folio.analytics.vocabulary import ASSET_CLASSES, asset_class

__all__ = [
    # valuation
    "value_positions", "Valuation", "lookup_fx", "FLAGS", "UNVALUED_REASONS", "unvalued_share",
    "require_valued", "shipped_pegs", "read_pegs",
    # exposures
    "exposure", "exposures", "maturity_bucket", "DIMENSIONS", "MATURITY_BUCKETS", "UNCLASSIFIED",
    "UNVALUED",
    # concentration
    "concentration", "check_limits", "Concentration", "parse_limits", "parse_share",
    # stress
    "stress", "StressResult", "Scenario", "load_scenario", "scenario_from_dict", "list_scenarios",
    "compose", "asset_class", "ASSET_CLASSES",
    # changes and history
    "compare_snapshots", "Changes", "history", "exposure_history",
    # the store
    "load_snapshot", "value_snapshot", "snapshot_dates", "snapshot_changes", "Snapshot",
    # charts
    "plot_exposure", "plot_concentration", "plot_stress", "plot_changes", "plot_history",
    # report
    "report", "build_report", "format_report",
]
