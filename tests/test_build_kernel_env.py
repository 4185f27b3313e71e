"""The build's kernels import the helpers of the checkout being built, not whichever checkout the
venv's editable install names (a second worktree sharing the venv once re-pointed it mid-build)."""
import os
from pathlib import Path

import nbformat
import pytest

from tools import build


def test_kernels_see_this_checkout_first_on_their_path(tmp_path, monkeypatch):
    import papermill

    seen = {}

    def fake_execute(source, out, **kwargs):
        seen["PYTHONPATH"] = os.environ.get("PYTHONPATH")
        raise papermill.PapermillExecutionError(0, 1, "stop", "Stop", "here", [])

    monkeypatch.setattr(papermill, "execute_notebook", fake_execute)
    monkeypatch.setenv("PYTHONPATH", "/somewhere/else")
    nb = tmp_path / "01_probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), nb)
    staged = {"executed": tmp_path / "executed", "report": tmp_path / "report", "figures": tmp_path / "figures",
              "artifacts": tmp_path / "artifacts"}
    for folder in staged.values():
        folder.mkdir(parents=True, exist_ok=True)
    with pytest.raises(build.BuildError):
        build.execute([nb], staged, "smoke", force=True, log=lambda *a: None)
    first, *rest = seen["PYTHONPATH"].split(os.pathsep)
    assert Path(first) == build.PROJECT_ROOT
    assert rest == ["/somewhere/else"]  # what the caller had is kept, after this checkout
    assert os.environ["PYTHONPATH"] == "/somewhere/else"  # and restored after the run
