"""Charts: the figures' data (bar heights, labels, lines), worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from folio import analytics

# Base EUR. XAF at the legal parity 655.957 per EUR: 655,957,000 XAF = 1,000,000 EUR.
# Valued total 600,000 + 300,000 + 1,000,000 + 100,000 = 2,000,000 EUR; the JPY line
# has no rate loaded (and no peg): unvalued.
BOOK = pd.DataFrame({
    "identifier": ["A1", "B1", "C1", "D1", "J1"],
    "issuer": ["Alpha", "Beta", "Cameroon", "Delta", "Nippon"],
    "quantity": [1.0] * 5,
    "market_value": [600_000.0, 300_000.0, 655_957_000.0, 100_000.0, 5_000_000.0],
    "currency": ["EUR", "EUR", "XAF", "EUR", "JPY"],
    "as_of": "2024-06-28"})


@pytest.fixture
def valued():
    return analytics.value_positions(BOOK, base_currency="EUR")


def _bars(ax):
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return dict(zip(labels, [p.get_width() for p in ax.patches], strict=True))


def test_exposure_bars_are_sorted_shares_with_the_unvalued_bucket_last(valued):
    fig = analytics.plot_exposure(valued, "issuer")
    ax = fig.axes[0]
    bars = _bars(ax)
    assert list(bars) == ["Cameroon", "Alpha", "Beta", "Delta", "unvalued"]
    assert [bars[k] for k in ("Cameroon", "Alpha", "Beta", "Delta")] == pytest.approx(
        [0.5, 0.3, 0.15, 0.05])
    assert bars["unvalued"] == 0.0
    assert "1 position, no value" in [t.get_text() for t in ax.texts]
    # top=2: the rest summed into "other"
    bars = _bars(analytics.plot_exposure(valued, "issuer", top=2).axes[0])
    assert bars == pytest.approx({"Cameroon": 0.5, "other (3)": 0.5, "unvalued": 0.0})


def test_concentration_marks_names_over_the_limit_and_gives_the_hhi(valued):
    fig = analytics.plot_concentration(valued, "issuer", limit=0.40, top=3)
    ax = fig.axes[0]
    bars = _bars(ax)
    assert bars == pytest.approx({"Cameroon": 0.5, "Alpha": 0.3, "Beta": 0.15})
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] != colours[1] and colours[1] == colours[2]  # only Cameroon breaches
    hhi = 0.5 ** 2 + 0.3 ** 2 + 0.15 ** 2 + 0.05 ** 2  # 0.365, of every valued name
    assert f"HHI {hhi:.3f}" in ax.get_title(loc="left")
    assert [line.get_xdata()[0] for line in ax.lines] == [0.40]


def test_stress_bars_before_and_after(valued):
    fig = analytics.plot_stress(analytics.stress(valued, "cfa_peg_break"), "currency")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    half = len(widths) // 2
    before = dict(zip(labels, widths[:half], strict=True))
    after = dict(zip(labels, widths[half:], strict=True))
    assert before == pytest.approx({"XAF": 1_000_000.0, "EUR": 1_000_000.0})
    assert after == pytest.approx({"XAF": 800_000.0, "EUR": 1_000_000.0})  # XAF -20%


def _snapshot(quantity, price, as_of):
    return analytics.value_positions(pd.DataFrame({
        "identifier": ["A1"], "quantity": [quantity], "market_value": [quantity * price],
        "currency": ["EUR"], "as_of": [as_of]}), base_currency="EUR")


def test_changes_waterfall_splits_the_change():
    # 10 at 100 -> 12 at 110: quantity (12-10)*100 = 200, price 12*(110-100) = 120, FX 0.
    changes = analytics.compare_snapshots(_snapshot(10, 100.0, "2024-01-31"),
                                          _snapshot(12, 110.0, "2024-02-29"))
    ax = analytics.plot_changes(changes).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["before", "quantity", "price", "FX", "after"]
    heights = [p.get_height() for p in ax.patches]
    bottoms = [p.get_y() for p in ax.patches]
    assert heights == pytest.approx([1000.0, 200.0, 120.0, 0.0, 1320.0])
    assert bottoms == pytest.approx([0.0, 1000.0, 1200.0, 1320.0, 0.0])


def test_history_lines_follow_the_snapshots():
    frame = pd.DataFrame({
        "identifier": ["A1", "B1", "A1", "B1"], "quantity": [1.0] * 4,
        "market_value": [300.0, 100.0, 500.0, 500.0], "currency": ["EUR", "USD"] * 2,
        "as_of": ["2024-01-31", "2024-01-31", "2024-02-29", "2024-02-29"]})
    fx = pd.DataFrame({"date": ["2024-01-31", "2024-02-29"], "base": ["EUR", "EUR"],
                       "quote": ["USD", "USD"], "rate": [1.0, 1.0]})
    all_dates = analytics.value_positions(frame, base_currency="EUR", fx_rates=fx)
    fig = analytics.plot_history(all_dates, by="currency")
    top, bottom = fig.axes[0], fig.axes[1]
    assert list(top.lines[0].get_ydata()) == pytest.approx([400.0, 1000.0])
    lines = {line.get_label(): list(line.get_ydata()) for line in bottom.lines}
    assert lines["EUR"] == pytest.approx([0.75, 0.5]) and lines["USD"] == pytest.approx([0.25, 0.5])



def test_analytics_and_frames_load_without_widgets_or_matplotlib():
    """The analytics and the display rules import neither ipywidgets nor Celery, and
    matplotlib only once a chart is drawn (a worker or a script pays for none)."""
    import subprocess
    import sys

    script = ("import sys, folio.analytics, folio.display, folio.catalog\n"
              "print(sorted(m for m in ('ipywidgets', 'celery', 'matplotlib') if m in sys.modules))\n"
              "import pandas as pd\n"
              "from folio import analytics\n"
              "v = analytics.value_positions(pd.DataFrame({'identifier': ['A'], 'quantity': [1.0],"
              " 'market_value': [1.0], 'currency': ['EUR'], 'as_of': '2024-01-31'}), "
              "base_currency='EUR')\n"
              "analytics.plot_exposure(v, 'currency')\n"
              "print(sorted(m for m in ('ipywidgets', 'matplotlib', 'matplotlib.pyplot') "
              "if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["[]", "['matplotlib']"]
