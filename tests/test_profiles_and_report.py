import json

import pandas as pd
import pytest

from tools.build import summary_markdown
from helpers.profiles import get_profile, output_dirs
from helpers.report import format_table, record_metrics


def test_profiles_and_overrides():
    assert get_profile("full").train_size is None
    smoke = get_profile("smoke", latent_dims=[2, 3])
    assert smoke.latent_dims == (2, 3) and smoke.train_size == 2048
    assert get_profile("smoke", ae_epochs=None).ae_epochs == get_profile("smoke").ae_epochs


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "fast"}, "unknown profile"),
    ({"latent_dims": (0, 4)}, "latent_dim must be >= 1"),
    ({"ae_epochs": -1}, "ae_epochs must be >= 1"),
    ({"label_budgets": (10, 5000)}, "exceeds"),
    ({"fc_variants": (-1,)}, "fc_layers"),
    ({"not_a_setting": 1}, "unknown profile setting"),
    ({"unrolled_steps": (0,)}, "unrolled_steps must be >= 1"),
    ({"grid_lrs": (0.0,)}, "grid learning rates"),
    ({"pixel_gan_max_steps": 0}, "pixel_gan_max_steps"),
])
def test_bad_parameters_fail_fast(kwargs, message):
    name = kwargs.pop("name", "smoke")
    with pytest.raises(ValueError, match=message):
        get_profile(name, **kwargs)


def test_only_the_build_writes_the_committed_report(tmp_path, monkeypatch):
    from helpers.profiles import committed_dirs
    from helpers.report import Section

    monkeypatch.setenv("EX3_REPORT_ROOT", str(tmp_path))
    monkeypatch.delenv("EX3_OUTPUT", raising=False)
    full, smoke = committed_dirs("full"), committed_dirs("smoke")
    assert full["report"] == tmp_path / "report" and smoke["report"] == full["report"] / "smoke"
    assert smoke["figures"] == full["figures"] / "smoke"
    # a notebook run by hand (Lab, papermill) writes to its own run folder, for every profile
    for name in ("full", "smoke"):
        run = output_dirs(name)
        assert run["report"] == tmp_path / "runs" / name / "report"
        Section(1, "q1", name).record({"x": 1.0})
        assert (run["report"] / "metrics.json").exists()
    assert not (tmp_path / "report").exists() and not (tmp_path / "figures").exists()
    # the build points the notebooks at its staging folder
    monkeypatch.setenv("EX3_OUTPUT", str(tmp_path / "stage"))
    assert output_dirs("full")["figures"] == tmp_path / "stage" / "figures"


def test_record_metrics_deep_merges(tmp_path):
    path = tmp_path / "metrics.json"
    record_metrics(path, {"q1": {"a": 1, "b": {"x": 1}}})
    record_metrics(path, {"q1": {"b": {"y": float("nan")}}, "q2": {"c": 2}})
    assert json.loads(path.read_text()) == {"q1": {"a": 1, "b": {"x": 1, "y": None}}, "q2": {"c": 2}}


def test_format_table_and_summary():
    df = pd.DataFrame({"d": [2, 10], "mse": [0.12345, 0.5], "note": ["a|b", "c"]})
    out = format_table(df, ".2f")
    assert out.d.tolist() == ["2", "10"] and out.mse.tolist() == ["0.12", "0.50"]
    assert out.note.tolist() == [r"a\|b", "c"]
    text = summary_markdown({"q1": {"test_mse_d10": 0.01}, "provenance": {"profile": "smoke"}})
    assert "0.0100" in text and "n/a" in text


def test_latex_postprocessing_keeps_captions_with_figures_and_tables_whole():
    from tools.build import _postprocess_tex

    tex = ("\\documentclass[11pt]{article}\n\\begin{document}\n\\maketitle\nconf. ≥0.9 and k ≤ d\n\n"
           "    \\begin{center}\n    \\adjustimage{max size={0.9\\linewidth}{0.9\\paperheight}}{output_3_0.png}\n"
           "    \\end{center}\n    { \\hspace*{\\fill} \\\\}\n    \n\\textbf{Figure 1.1.} Two digits.\n\n"
           "\\textbf{Table 1.1.} Scores.\n\n\\begin{longtable}[]{@{}ll@{}}\n\\toprule\\noalign{}\na & b \\\\\n"
           "\\midrule\\noalign{}\n\\endhead\n\\bottomrule\\noalign{}\n\\endlastfoot\n1 & 2 \\\\\n\\end{longtable}\n")
    out = _postprocess_tex(tex, {"built": "2026-01-02T00:00:00", "profile": "full"})
    assert "≥" not in out and "\\ensuremath{\\geq}0.9" in out and "\\ensuremath{\\leq}" in out
    assert "\\date{2026-01-02}" in out and "profile" not in out
    figure = out[out.index("\\begin{figure}"):out.index("\\end{figure}")]
    assert "output_3_0.png" in figure and "Figure 1.1." in figure  # the caption travels with its image
    table = out[out.index("\\begin{table}"):out.index("\\end{table}")]
    assert "Table 1.1." in table and "\\begin{tabular}" in table and "longtable" not in out
    assert table.index("1 & 2") < table.index("\\bottomrule")  # the closing rule after the last row
