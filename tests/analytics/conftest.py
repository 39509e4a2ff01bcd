"""Fixtures over the hand-computed frames of ``analytics_frames``."""

from __future__ import annotations

import pytest
from analytics_frames import fx_frame, instruments_frame, positions_frame, prices_frame


@pytest.fixture
def reference():
    return {"instruments": instruments_frame(), "fx_rates": fx_frame(), "prices": prices_frame()}


@pytest.fixture
def positions():
    return positions_frame()


@pytest.fixture
def valued(positions, reference):
    from folio.analytics import value_positions

    return value_positions(positions, base_currency="USD", **reference)
