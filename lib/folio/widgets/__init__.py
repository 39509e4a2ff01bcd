"""Notebook widgets: the import panel, the dashboard, and live job progress.

Each widget keeps its state in plain attributes and ipywidgets ``.value``s,
apart from how it is laid out, so tests assert on state without a browser.
"""

from folio.widgets.dashboard import Dashboard
from folio.widgets.import_panel import ImportPanel, save_upload
from folio.widgets.progress import progress

__all__ = ["Dashboard", "ImportPanel", "progress", "save_upload"]
