"""The notebooks are committed with their outputs, so nbval has something to compare."""

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_saved_with_outputs(path):
    book = nbformat.read(path, as_version=4)
    code = [c for c in book.cells if c.cell_type == "code"]
    missing = [i for i, c in enumerate(code) if not c.outputs and "NBVAL_IGNORE_OUTPUT" not in c.source]
    assert not missing, f"{path.name}: code cells {missing} have no saved output; re-run and save it"
    assert all(c.execution_count for c in code), f"{path.name} was saved without running every cell"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name} was saved with an error: {errors[0].ename}"
