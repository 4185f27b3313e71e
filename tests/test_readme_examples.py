"""The README's papermill example is accepted as written: papermill injects its parameters into the
notebook, and the notebook's own parameter check accepts them (the notebook itself runs once per
``make test``, under nbmake, not a second time here)."""
import re
import shlex
import subprocess
import sys

import nbformat
import pytest

from helpers.profiles import PROJECT_ROOT


def _papermill_examples():
    text = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [b.replace("\\\n", " ").strip() for b in blocks if b.lstrip().startswith(".venv/bin/papermill")]


def test_the_readme_has_a_papermill_example():
    assert _papermill_examples()


@pytest.mark.parametrize("command", _papermill_examples())
def test_readme_papermill_example_is_accepted(command, tmp_path):
    args = shlex.split(command)
    assert args[0] == ".venv/bin/papermill"
    out = tmp_path / "out.ipynb"
    args = [sys.executable, "-m", "papermill", "--prepare-only",
            *[str(out) if a.startswith("/tmp/") else a for a in args[1:]]]
    run = subprocess.run(args, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    tags = [set(c.metadata.get("tags", [])) for c in nb.cells]
    injected = next(i for i, t in enumerate(tags) if "injected-parameters" in t)
    assert "parameters" in tags[injected - 1], "papermill injects right after the parameters cell"
    check = nb.cells[injected + 1].source
    assert check.startswith("check_parameters(globals()"), "the cell after the parameters checks them"
    imports = next(c.source for c in nb.cells if c.cell_type == "code" and "import" in c.source)
    namespace: dict = {}
    for source in (imports, nb.cells[injected - 1].source, nb.cells[injected].source, check):
        source = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith("%"))  # IPython magics
        exec(compile(source, "<notebook>", "exec"), namespace)  # raises ParameterError if refused
    for name, value in re.findall(r"-p (\w+) (\"[^\"]*\"|\S+)", command):
        assert name in nb.cells[injected].source
