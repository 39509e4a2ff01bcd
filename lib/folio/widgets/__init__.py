"""Notebook widgets: the import panel, the dashboard, tables, and live job progress.

Each widget keeps its state in plain attributes and ipywidgets ``.value``s,
apart from how it is laid out, so tests assert on state without a browser.
"""

from folio.widgets.dashboard import Dashboard
from folio.widgets.import_panel import ImportPanel, save_upload
from folio.widgets.progress import progress
from folio.widgets.tables import IssuesView, Table

__all__ = ["Dashboard", "ImportPanel", "IssuesView", "Table", "progress", "save_upload"]
