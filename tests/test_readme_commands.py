"""The README's two commands are what users and CI run: .ci/run runs the second one verbatim, in a
fresh virtualenv."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line for line in block.splitlines() if line and not line.startswith("#")]


def test_readme_has_an_install_and_run_command_and_a_test_command() -> None:
    install_and_train, install_and_test = _readme_commands()
    assert install_and_train.startswith("pip install -e .") and "python -m glassgrad train" in install_and_train
    assert install_and_test.startswith('pip install -q -e ".[test]"') and "pytest" in install_and_test


def test_ci_runs_the_readme_test_command_in_a_fresh_virtualenv() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == _readme_commands()[1]
    venv_line = next(i for i, line in enumerate(ci) if "python3 -m venv" in line)
    activate_line = next(i for i, line in enumerate(ci) if "/bin/activate" in line)
    assert venv_line < activate_line < len(ci) - 1
