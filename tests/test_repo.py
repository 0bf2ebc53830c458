"""The README's commands are the ones CI runs."""

from __future__ import annotations

from tests.conftest import REPO


def test_ci_runs_the_readme_test_command_verbatim():
    readme = (REPO / "README.md").read_text().splitlines()
    heading = readme.index("## Run the tests")
    command = next(line for line in readme[heading:] if line.startswith("python3 -m venv"))
    ci_lines = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci_lines[-1] == command
