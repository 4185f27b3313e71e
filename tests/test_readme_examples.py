"""The README's papermill example runs as written (smoke profile, temporary folders)."""
import os
import re
import shlex
import subprocess
import sys

import pytest

from helpers.profiles import PROJECT_ROOT


def _papermill_examples():
    text = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [b.replace("\\\n", " ").strip() for b in blocks if b.lstrip().startswith(".venv/bin/papermill")]


def test_the_readme_has_a_papermill_example():
    assert _papermill_examples()


@pytest.mark.slow
@pytest.mark.parametrize("command", _papermill_examples())
def test_readme_papermill_example_runs(command, tmp_path):
    args = shlex.split(command)
    assert args[0] == ".venv/bin/papermill"
    args = [sys.executable, "-m", "papermill", *[str(tmp_path / "out.ipynb") if a.startswith("/tmp/") else a
                                                 for a in args[1:]]]
    env = dict(os.environ, EX3_REPORT_ROOT=str(tmp_path), EX3_ARTIFACTS=str(tmp_path / "artifacts"))
    env.pop("EX3_OUTPUT", None)
    run = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not (tmp_path / "report").exists(), "a run by hand must not write the committed report"
    assert (tmp_path / "runs" / "smoke" / "report" / "metrics.json").exists()
