"""A plain `jupyter nbconvert` of one executed notebook is as clean as the report build's."""
import os
import subprocess
import sys

import nbformat
import pytest

from tools.export import CONFIG, WIDGET_MIME, install_config


def _executed_notebook(path, markdown=True):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("train()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="cache: loaded ae-123.pt\ndevice: cpu\n"),
        nbformat.v4.new_output("display_data", data={WIDGET_MIME: {"model_id": "x"}, "text/plain": "  3%|#  | 3/100"}),
        nbformat.v4.new_output("stream", name="stdout", text="test MSE 0.0086\n"),
    ]
    if not markdown:  # the glyphs in an output instead (markdown cells go through pandoc)
        code.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="accuracy ≥ 99% for every σ\n"))
    nb.cells = [nbformat.v4.new_markdown_cell("Accuracy ≥ 99% for every σ."), code] if markdown else [code]
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


# runpy re-runs the module the test imported above, as `python -m` would in a fresh process
@pytest.mark.filterwarnings("ignore:'tools.export' found in sys.modules:RuntimeWarning")
def test_python_m_tools_export_configures_a_plain_nbconvert_of_its_environment(tmp_path, monkeypatch, capsys):
    """`python -m tools.export` (what `make env` runs) writes the config where nbconvert looks in
    the running environment, and a plain `jupyter nbconvert` there, no --config given, then drops
    stderr and progress bars and uses the report's LaTeX template (glyphs mapped). LaTeX without
    markdown cells needs no pandoc; the environment is a temporary prefix, not this venv."""
    import runpy
    from pathlib import Path

    prefix = tmp_path / "env"
    with monkeypatch.context() as m:
        m.setattr(sys, "prefix", str(prefix))
        runpy.run_module("tools.export", run_name="__main__")
    written = prefix / "etc" / "jupyter" / "jupyter_nbconvert_config.py"
    assert written.read_text() == CONFIG and str(written) in capsys.readouterr().out

    notebook = tmp_path / "q1.ipynb"
    _executed_notebook(notebook, markdown=False)
    # nbconvert in a subprocess whose environment is `prefix`: its config path is <prefix>/etc/jupyter;
    # its templates stay those of this venv, and no user or command-line config is read
    run = subprocess.run([sys.executable, "-c", "import sys; sys.prefix = sys.argv.pop(1); "
                          "from nbconvert.nbconvertapp import main; sys.exit(main())",
                          str(prefix), "--to", "latex", str(notebook)], capture_output=True, text=True, cwd=tmp_path,
                         env={**{k: v for k, v in os.environ.items() if k != "JUPYTER_CONFIG_PATH"},
                              "PATH": str(Path(sys.executable).parent),  # no pandoc: the fast tier has none
                              "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
                              "JUPYTER_CONFIG_DIR": str(tmp_path / "no-user-config")})
    assert run.returncode == 0, run.stderr
    tex = (tmp_path / "q1.tex").read_text()
    assert "test MSE 0.0086" in tex
    assert "cache: loaded" not in tex and "device: cpu" not in tex and "3/100" not in tex
    assert r"\newunicodechar{≥}{\ensuremath{\geq}}" in tex and r"\newunicodechar{σ}{\ensuremath{\sigma}}" in tex


def test_listing_cells_move_to_their_own_appendix_after_the_questions(tmp_path):
    """The code listings stay in place in each notebook but in the PDF follow the last question,
    in question order, outside the assignment part's pages (before the build's appendix)."""
    import nbformat

    from tools.build import LISTING, LISTINGS_APPENDIX, merge

    paths = []
    for n in (1, 2):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Q{n}"),
                    nbformat.v4.new_code_cell(f"listing {n}", metadata={"tags": [LISTING]}),
                    nbformat.v4.new_markdown_cell(f"after {n}")]
        paths.append(tmp_path / f"0{n}_q.ipynb")
        nbformat.write(nb, paths[-1])
    merged = merge(paths, "# Appendix: how this report was built", settings={"title": "t", "authors": [], "course": ""})
    assert [c.source for c in merged.cells] == ["# Q1", "after 1", "# Q2", "after 2", LISTINGS_APPENDIX,
                                                "listing 1", "listing 2", "# Appendix: how this report was built"]


def test_a_listing_stays_on_one_page_with_its_caption():
    from tools.build import _postprocess_tex

    tex = ("\\begin{document}\n\\textbf{Listing 1.1.} Q1: the step.\n\n\\begin{Shaded}\n\\begin{Highlighting}[]\ncode\n"
           "\\end{Highlighting}\n\\end{Shaded}\n\nafter\n\\end{document}")
    out = _postprocess_tex(tex, {"built": "2026-12-05T00:00:00"})
    start, end = out.index("\\begin{minipage}"), out.index("\\end{minipage}")
    assert start < out.index("Listing 1.1") < out.index("\\end{Shaded}") < end < out.index("after")
