import json

import pandas as pd
import pytest

from helpers.profiles import get_profile, output_dirs
from helpers.report import format_table, record_metrics


def test_profiles_and_overrides():
    assert get_profile("full").train_size is None
    smoke = get_profile("smoke", latent_dims=[2, 3])
    assert smoke.latent_dims == (2, 3) and smoke.train_size == 2048
    assert get_profile("smoke", ae_epochs=None).ae_epochs == get_profile("smoke").ae_epochs


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "fast"}, "unknown profile"),
    ({"latent_dims": (0, 4)}, "latent_dims must be >= 1"),
    ({"code_penalty": -0.5}, "code_penalty must be >= 0"),
    ({"gan_objective": "minimax-ish"}, "gan_objective must be one of"),
    ({"ae_epochs": -1}, "ae_epochs must be >= 1"),
    ({"label_budgets": (10, 5000)}, "exceeds"),
    ({"fc_variants": (-1,)}, "fc_variants must be >= 0"),
    ({"not_a_setting": 1}, "unknown profile setting"),
    ({"unrolled_steps": (0,)}, "unrolled_steps must be >= 1"),
    ({"grid_lrs": (0.0,)}, "grid_lrs must be > 0"),
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


def test_record_metrics_replaces_each_key_it_is_given_whole(tmp_path):
    path = tmp_path / "metrics.json"
    record_metrics(path, {"q1": {"a": 1, "b": {"x": 1}}, "q2": {"c": 2}})
    record_metrics(path, {"q1": {"b": {"y": float("nan")}}})
    assert json.loads(path.read_text()) == {"q1": {"b": {"y": None}}, "q2": {"c": 2}}


def test_a_run_by_hand_replaces_what_an_earlier_run_of_the_notebook_recorded(tmp_path, monkeypatch):
    from helpers.report import Section, read_metrics

    monkeypatch.setenv("EX3_REPORT_ROOT", str(tmp_path))
    monkeypatch.delenv("EX3_OUTPUT", raising=False)
    first = Section(1, "q1", "smoke")  # papermill -p LATENT_DIMS "[2, 4]"
    first.record({"test_mse_by_d": {2: 0.05, 4: 0.03}})
    first.answer_row("1b", "falls with d", "0.03", "Figure 1.2")
    Section(2, "q2", "smoke").record({"value": 1.0})
    second = Section(1, "q1", "smoke")  # papermill -p LATENT_DIMS "[10]"
    second.record({"test_mse_by_d": {10: 0.01}})
    second.answer_row("1b", "falls with d", "0.01", "Figure 1.2")
    second.record({"epochs": 1})  # within one run, what it records adds up
    metrics = read_metrics("smoke")
    assert metrics["q1"] == {"profile": "smoke", "test_mse_by_d": {"10": 0.01}, "epochs": 1,
                             "answers": [{"question": "1b", "answer": "falls with d", "number": "0.01",
                                          "where": "Figure 1.2"}]}
    assert metrics["q2"] == {"profile": "smoke", "value": 1.0}  # another notebook's section stays


def test_the_build_still_collects_every_notebooks_section_and_its_own_keys(tmp_path, monkeypatch):
    """As tools.build does: notebooks run in order into a fresh staging folder, then the build adds
    its provenance and page counts beside their sections."""
    from helpers.report import Section, answer_rows

    stage = tmp_path / "stage"
    monkeypatch.setenv("EX3_OUTPUT", str(stage))
    path = output_dirs("smoke")["report"] / "metrics.json"
    for number, key in [(1, "q1"), (2, "q2"), (7, "extras"), (8, "appendix")]:
        section = Section(number, key, "smoke")
        section.record({"n": number})
        if number < 7:
            section.answer_row(f"{number}.", "yes", "1", "Table 1")
        else:
            section.headline(key, "m", "1")
    record_metrics(path, {"provenance": {"profile": "smoke"}})
    metrics = record_metrics(path, {"report": {"pages_total": 3}})
    assert sorted(metrics) == ["appendix", "extras", "provenance", "q1", "q2", "report"]
    assert metrics["q2"]["n"] == 2 and metrics["provenance"] == {"profile": "smoke"} and metrics["report"]["pages_total"] == 3
    assert [r["question"] for r in answer_rows(metrics, headlines=True)] == ["1.", "2.", "extras", "appendix"]


def test_format_table():
    df = pd.DataFrame({"d": [2, 10], "mse": [0.12345, 0.5], "note": ["a|b", "c"]})
    out = format_table(df, ".2f")
    assert out.d.tolist() == ["2", "10"] and out.mse.tolist() == ["0.12", "0.50"]
    assert out.note.tolist() == [r"a\|b", "c"]



def test_summary_collects_what_the_notebooks_recorded_and_formats_nothing(tmp_path, monkeypatch):
    from helpers.report import Section, read_metrics, summary_markdown

    monkeypatch.setenv("EX3_OUTPUT", str(tmp_path))
    q1, extras, fashion = Section(1, "q1", "smoke"), Section(7, "extras", "smoke"), Section(8, "appendix", "smoke")
    q1.answer_row("Q1", "yes", "MSE 0.0086", "Table 1.1")
    extras.headline("Extras", "inversion MSE", "0.0130")
    fashion.headline("Appendix", "Fashion AE MSE", "0.0093")
    metrics = {**read_metrics("smoke"), "provenance": {"profile": "smoke"}}
    lines = summary_markdown(metrics, "# Answers at a glance\n\nOur answers.").splitlines()
    assert lines[2:5] == ["# Answers at a glance", "", "Our answers."]  # the front page's text, as the build rendered it
    assert [line.split(" | ")[0] for line in lines if line.startswith("| ")][1:] == ["| Q1", "| Extras", "| Appendix"]
    assert "MSE 0.0086" in lines[-3] and "0.0130" in lines[-2] and "0.0093" in lines[-1]


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


def test_environment_variables_are_read_in_one_place(monkeypatch):
    import ast
    import re
    from pathlib import Path

    from helpers.environment import ENVIRONMENT, PROJECT_ROOT, env

    monkeypatch.setenv("EX3_DATA", "")
    assert env("EX3_DATA", "fallback") == "fallback"  # empty counts as unset
    with pytest.raises(KeyError, match="not one of the project's variables"):
        env("EX3_DAT")
    def code(path):  # the module without its docstrings (profiles' says how a notebook reads EX3_PROFILE)
        tree = ast.parse(Path(path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and ast.get_docstring(node):
                node.body = node.body[1:] or [ast.Pass()]
        return ast.unparse(tree)

    readers = [p for p in [*PROJECT_ROOT.glob("helpers/*.py"), *PROJECT_ROOT.glob("tools/*.py")]
               if p.name != "environment.py" and re.search(r"environ(\.get)?\(?\[?[\"']EX3_", code(p))]
    assert readers == []
    named = set(re.findall(r"EX3_[A-Z_]+", (PROJECT_ROOT / "README.md").read_text()))
    assert set(ENVIRONMENT) <= named  # the README names every one
