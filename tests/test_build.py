"""The report pipeline end to end in the smoke profile, killed and resumed.

The build runs here on small synthetic notebooks (``tests/buildkit.py``): the real notebooks are
executed once per ``make test``, by nbmake."""
import json
import os
from pathlib import Path

import pytest

import buildkit
from tools.build import BuildError, build, source_notebooks
from helpers.checkpoints import load_checkpoint


def _results(metrics: dict):
    """metrics.json without provenance, page counts and wall-clock times."""
    import re

    timing = re.compile(r"second|time|_s$|minutes")

    def clean(node):
        if isinstance(node, dict):
            return {k: clean(v) for k, v in node.items()
                    if k not in ("provenance", "report") and not timing.search(str(k))}
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return clean(metrics)


def _checkpoints(artifacts: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in artifacts.glob("*.pt")}


def _document_text(report: Path) -> str:
    if (report / "ex3.pdf").exists():
        from test_report_text import pdf_pages

        text = "\n".join(pdf_pages(report / "ex3.pdf"))
    else:
        text = (report / "ex3.html").read_text()
    return " ".join(text.replace("’", "'").split())


@pytest.mark.slow
def test_smoke_report_survives_a_kill_and_resumes(tmp_path, monkeypatch):
    """``python -m tools.build`` killed (SIGKILL to the build and its kernel) in its first
    notebook, once that notebook has cached four models (three autoencoders, a latent GAN) and
    recorded its numbers, installs nothing. The next build reuses those models untouched (same files, same mtimes; a temporary
    file a killed checkpoint write leaves is cleaned up), trains only the one it lacks, computes
    exactly the numbers the killed build computed with freshly trained models, drops values an
    earlier run left in metrics.json, records provenance and page counts, installs the executed
    notebooks, figures and PDF (section titles, "Answers at a glance" on the first page, figures
    and tables as floats) and removes its staging folder."""
    for name, value in dict(EX3_PROFILE="smoke", EX3_ARTIFACTS=str(tmp_path / "artifacts"),
                            EX3_REPORT_ROOT=str(tmp_path)).items():  # never the project's own report/smoke/
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EX3_OUTPUT", raising=False)
    gate = tmp_path / "gate"
    notebooks = buildkit.two_sections(tmp_path / "notebooks", gate)
    artifacts = tmp_path / "artifacts" / "smoke"
    report, staging = tmp_path / "report" / "smoke", tmp_path / "runs" / ".build-smoke"
    # 1. start a build and kill it with its kernel while notebook 1 waits at its gate, its models cached
    proc = buildkit.start_build(notebooks, dict(os.environ))
    buildkit.kill_build(proc, kernel=buildkit.wait_at_gate(proc, gate))
    before = _checkpoints(artifacts)
    assert len(before) == 4, f"notebook 1 caches three autoencoders and a GAN before its gate, found {sorted(before)}"
    installed = [p for folder in (report, tmp_path / "figures") if folder.exists()
                 for p in folder.rglob("*") if p.is_file()]
    assert installed == [], "a killed build must not install anything"
    # what notebook 1 computed with the models it had just trained (the killed build's staging copy)
    from_scratch = _results(json.loads((staging / "report" / "metrics.json").read_text()))
    assert set(from_scratch) == {"s1"}
    # a kill inside a checkpoint write leaves a temporary file beside it (atomic_write's rename never ran)
    (artifacts / f".{min(before)}.killed.tmp").write_bytes(b"half a checkpoint")
    # a value an earlier run recorded, which this build does not produce, must not survive
    report.mkdir(parents=True, exist_ok=True)
    (report / "metrics.json").write_text('{"s1": {"stale_value": 1.0}, "stale_section": {}}')
    # 2. build again, to the end (here, in this process: build() is what main() runs)
    gate.touch()
    log = []
    build("smoke", notebooks=notebooks, log=log.append)
    out = "\n".join(log)
    after = _checkpoints(artifacts)
    assert all(after.get(name) == mtime for name, mtime in before.items()), "a cached model was retrained"
    assert len(after) == 5, "the model after the gate is trained and cached"
    assert not list(artifacts.glob(".*.tmp")), "half-written files left behind"
    import torch

    from helpers.zoo import trained_by

    for path in artifacts.glob("*.pt"):
        config = torch.load(path, weights_only=True)["config"]
        assert load_checkpoint(path, config, trained_by(config["kind"]))["state_dict"]
    metrics = json.loads((report / "metrics.json").read_text())
    assert "stale_section" not in metrics and "stale_value" not in metrics["s1"]
    resumed = _results(metrics)
    assert {k: v for k, v in resumed["s1"].items() if k != "after_the_gate"} == from_scratch["s1"], \
        "loading the cached models changed the numbers"
    assert set(resumed["s1"]["after_the_gate"]["noisy_test_mse_by_d"]) == {"5"}
    assert resumed["s2"]["sections_before"] == 1
    prov = metrics["provenance"]
    assert prov["profile"] == "smoke"
    assert prov["packages"]["torch"].startswith("2.")  # resolved versions, as pip freeze
    assert prov["cache"] == {"trained": 1, "loaded_from_earlier_runs": 4}
    names = [nb.name for nb in notebooks]
    assert sorted(prov["notebook_seconds"]) == names
    assert sorted(p.name for p in (report / "executed").iterdir()) == names
    assert [p.name for p in (tmp_path / "figures" / "smoke").glob("*.png")] == ["s1_mse.png"]
    assert (report / "summary.md").exists()
    assert not staging.exists(), "staging folder removed after success"
    # 3. the document holds every section
    text = _document_text(report)
    for title in buildkit.SECTION_TITLES:
        assert title in text, f"section {title!r} missing from the report"
    assert "xelatex not found" not in out and "pandoc not found" not in out, "`make test` installs LaTeX (make latex)"
    assert (report / "ex3.pdf").exists() and not (report / "ex3.html").exists()
    assert "the PDF font lacks" not in out, out  # e.g. a glyph (σ, ≥)
    from test_report_text import banned_tokens, pdf_pages

    pages = pdf_pages(report / "ex3.pdf")
    front = " ".join(pages[0].split())
    assert "Answers at a glance" in front, "the answers open the report"
    assert "1a. Error against size" in front and "2a. A second kernel" in front
    assert banned_tokens("\n".join(pages)) == []
    counts = metrics["report"]
    n = counts["pages_assignment"]
    assert counts["pages_total"] == len(pages) and 1 <= n <= len(pages)
    assert "Appendix: how this report was built" in " ".join(pages[n - 1:n + 1])  # where the part ends
    tex = (report / "_build" / "ex3.tex").read_text()
    assert tex.count("\\begin{figure}") == 1 and tex.count("\\begin{table}[H]") == 2, \
        "each figure and table in one float with its caption"
    # 4. a cached model whose bytes changed (here: damaged) is refused and retrained, the terminal
    # says so, and the notebook that used it runs again while the other one is reused
    damaged = artifacts / sorted(before)[0]
    damaged.write_bytes(damaged.read_bytes()[:-100] + bytes(100))
    log = []
    build("smoke", notebooks=notebooks, log=log.append)
    out = "\n".join(log)
    assert f"01_small_codes.ipynb (profile smoke): the cached model {damaged.name} has changed" in out
    assert f"WARNING: a cached model was refused and retrained: {damaged.name}" in out
    assert "02_second_section.ipynb: unchanged, reusing" in out
    assert _results(json.loads((report / "metrics.json").read_text())) == resumed, "retrained to the same numbers"


@pytest.mark.slow
def test_a_failing_notebook_is_named(tmp_path):
    import nbformat

    from tools.build import execute

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "ex3", "display_name": "ex3", "language": "python"}
    params = nbformat.v4.new_code_cell("PROFILE = 'smoke'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("raise ValueError('boom')")]
    path = tmp_path / "01_broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(BuildError, match=r"01_broken.ipynb failed in cell .*ValueError: boom"):
        execute([path], {"executed": tmp_path / "out" / "executed", "report": tmp_path / "out",
                         "figures": tmp_path / "figures", "artifacts": tmp_path / "artifacts"},
                "smoke", log=lambda *_: None)
    assert (tmp_path / "out" / "executed" / "01_broken.ipynb").exists()


def test_extras_notebook_runs_only_when_asked_for(monkeypatch):
    from tools.build import EXTRAS_NOTEBOOKS, extras_enabled

    names = [p.name for p in source_notebooks()]
    assert not set(EXTRAS_NOTEBOOKS) & set(names) and names == sorted(names) and len(names) >= 6
    assert [p.name for p in source_notebooks(extras=True)][-len(EXTRAS_NOTEBOOKS):] == list(EXTRAS_NOTEBOOKS)
    monkeypatch.setenv("EX3_EXTRAS", "1")
    assert extras_enabled()
    monkeypatch.setenv("EX3_EXTRAS", "0")
    assert not extras_enabled()


def test_greek_letters_reach_the_pdf_as_math():
    from tools.build import _postprocess_tex

    tex = _postprocess_tex("\\begin{document} noise σ=0.2, λ ≥ 1", {"built": "2026-01-01", "profile": "smoke"})
    assert r"\ensuremath{\sigma}=0.2" in tex and r"\ensuremath{\lambda} \ensuremath{\geq} 1" in tex


def test_front_page_is_unnumbered_so_question_n_is_section_n():
    from tools.build import _postprocess_tex

    numbered = _postprocess_tex("\\begin{document}\n\\section{Answers at a glance}\\label{a}\n\\section{Q1}",
                                {"built": "2026-01-01", "profile": "smoke"})
    assert "\\section*{Answers at a glance}" in numbered and "\\section{Q1}" in numbered, \
        "the front page is unnumbered, so that question 1 is section 1"


def test_bench_build_time_row_leaves_out_every_extras_notebook():
    from tools.bench import build_time_summary

    line = build_time_summary({"01_autoencoder.ipynb": 100.0, "06_theory.ipynb": 5.0,
                               "07_extras.ipynb": 1000.0, "08_fashion_mnist.ipynb": 200.0})
    assert line.endswith("questions 1-6 alone 105 s") and line.startswith("1,305 s of notebooks in all")

def test_without_latex_the_build_writes_html_and_says_why(tmp_path, monkeypatch):
    import nbformat

    from tools import build as build_module

    monkeypatch.setattr(build_module, "_latex_tools", lambda: "xelatex not found")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Q1\n\nNoise σ ≥ 0.1.")]
    log = []
    out = build_module.export(nb, tmp_path, {"built": "2026-01-01T00:00:00"}, log=log.append)
    assert out == tmp_path / "ex3.html" and "Noise σ ≥ 0.1." in out.read_text()
    assert log == [f"NOTE: no PDF (xelatex not found; `make latex` installs them as root). Wrote {out} instead."]
