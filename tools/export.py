"""What every export of an executed notebook shares: outputs a reader should not see are dropped
(stderr such as cache and device lines, progress-bar widgets), and the LaTeX template ``ex3``
maps the glyphs the default PDF font lacks (≥, Greek letters) to math.

The report build uses these pieces, and ``python -m tools.export`` (run by ``make env``) writes
the environment's ``etc/jupyter/jupyter_nbconvert_config.py`` so that a plain
``jupyter nbconvert --to pdf report/executed/01_autoencoder.ipynb`` uses them as well.
"""
from __future__ import annotations

import sys
from pathlib import Path

from nbconvert.preprocessors import Preprocessor

TEMPLATES = Path(__file__).parent / "nbconvert_templates"
TEMPLATE = "ex3"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TEX_GLYPHS = {"≥": r"\ensuremath{\geq}", "≤": r"\ensuremath{\leq}", "↔": r"\ensuremath{\leftrightarrow}",
              **{chr(0x3B1 + i): rf"\ensuremath{{\{name}}}" for i, name in enumerate(
                  "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi o pi rho "
                  "varsigma sigma tau upsilon phi chi psi omega".split()) if name != "o"}}


def keep_output(output) -> bool:
    """False for stderr streams and widget outputs (tqdm's progress bars)."""
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        return False
    return WIDGET_MIME not in output.get("data", {})


class CleanOutputs(Preprocessor):
    """Drop what :func:`keep_output` rejects and hand the glyph map to the ``ex3`` template."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if keep_output(o)]
        resources["tex_glyphs"] = TEX_GLYPHS
        return nb, resources


CONFIG = f'''# written by `python -m tools.export` (make env): every nbconvert export in this environment
# drops stderr and progress bars, fills the text's placeholders from the metrics.json beside the
# notebook (tools.prose) and uses the report's LaTeX template
c.Exporter.preprocessors = ["tools.export.CleanOutputs", "tools.prose.FillProse"]
c.TemplateExporter.extra_template_basedirs = [{str(TEMPLATES)!r}]
c.LatexExporter.template_name = "{TEMPLATE}"
'''


def install_config(prefix: str | Path = sys.prefix) -> Path:
    """Write ``<prefix>/etc/jupyter/jupyter_nbconvert_config.py``; returns its path."""
    path = Path(prefix) / "etc" / "jupyter" / "jupyter_nbconvert_config.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONFIG)
    return path


if __name__ == "__main__":
    print(f"nbconvert configured: {install_config()}")
