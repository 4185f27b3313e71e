"""A plain `jupyter nbconvert` of one executed notebook is as clean as the report build's."""
import subprocess
import sys

import nbformat
import pytest

from tools.export import CONFIG, WIDGET_MIME, install_config


def _executed_notebook(path):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("train()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="cache: loaded ae-123.pt\ndevice: cpu\n"),
        nbformat.v4.new_output("display_data", data={WIDGET_MIME: {"model_id": "x"}, "text/plain": "  3%|#  | 3/100"}),
        nbformat.v4.new_output("stream", name="stdout", text="test MSE 0.0086\n"),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("Accuracy ≥ 99% for every σ."), code]
    nbformat.write(nb, path)


@pytest.mark.slow  # pandoc: `make test` installs it (make latex), the fast tier does not need it
def test_plain_nbconvert_drops_build_output_and_maps_glyphs(tmp_path):
    prefix = tmp_path / "env"
    config = install_config(prefix)
    assert config.read_text() == CONFIG
    _executed_notebook(tmp_path / "q1.ipynb")
    # the same config file the environment gets, handed to a plain nbconvert run
    run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "latex", "--config", str(config),
                          str(tmp_path / "q1.ipynb")], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    tex = (tmp_path / "q1.tex").read_text()
    assert "test MSE 0.0086" in tex
    assert "cache: loaded" not in tex and "device: cpu" not in tex and "3/100" not in tex
    assert r"\newunicodechar{≥}{\ensuremath{\geq}}" in tex and r"\newunicodechar{σ}{\ensuremath{\sigma}}" in tex


def test_the_environment_is_configured_for_plain_exports():
    """`make env` writes the config every `jupyter nbconvert` of this environment reads."""
    from pathlib import Path

    installed = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_nbconvert_config.py"
    assert installed.exists() and installed.read_text() == CONFIG, "run `make env` (python -m tools.export)"
