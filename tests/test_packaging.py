"""environment.yml installs what pyproject.toml declares, as conda would read it.

Conda's channels cannot be reached from the test machines, so environment.yml
is checked the way conda uses it: its conda names against their conda-forge
spellings (kept here), and its pip section handed to pip's own requirements
file parser, which is what conda does with it.
"""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name, where they differ (checked on anaconda.org).
CONDA_NAMES = {"redis": "redis-py", "playwright": "playwright-python"}


def _split(requirement: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*([^;#]*)", requirement)
    assert m, requirement
    name = m.group(1).lower().replace("_", "-")
    return CONDA_NAMES.get(name, name), m.group(3).replace(" ", "")


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted.update(_split(r) for r in extra)
    env = _environment()
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    assert conda.pop("python") == ">=" + project["requires-python"].lstrip(">=")
    conda.pop("pip")
    assert conda == wanted


def test_the_pip_section_is_a_requirements_file_pip_accepts(tmp_path, monkeypatch):
    """Conda writes the pip section to a requirements file and runs ``pip install
    -r`` on it from the environment file's folder; pip's parser must take it
    (it refuses install options such as ``--no-deps``) and install folio from here."""
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    sections = [d["pip"] for d in _environment()["dependencies"] if isinstance(d, dict)]
    assert len(sections) == 1
    requirements = tmp_path / "condaenv.requirements.txt"
    requirements.write_text("\n".join(sections[0]) + "\n")
    monkeypatch.chdir(ROOT)
    parsed = list(parse_requirements(str(requirements), session=PipSession()))
    assert [(r.requirement, r.is_editable) for r in parsed] == [(".", True)]


def test_the_parser_refuses_what_conda_cannot_pass(tmp_path):
    """The check above has teeth: the old section (``--no-deps``) is refused."""
    import pytest
    from pip._internal.exceptions import RequirementsFileParseError
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    requirements = tmp_path / "old.txt"
    requirements.write_text("--no-deps\n-e .\n")
    with pytest.raises((RequirementsFileParseError, SystemExit)):
        list(parse_requirements(str(requirements), session=PipSession()))


def test_console_script_points_at_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["folio"] == "folio.cli:main"
    from folio.cli import main

    assert callable(main)
