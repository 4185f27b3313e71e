"""The report as a reader gets it: the front page's answers, proper plurals, and the committed PDF
free of build leftovers (self-set targets, code names, commands, template grammar)."""
import json
import re
from pathlib import Path

import pytest

from helpers.report import Section, join_words, plural

ROOT = Path(__file__).resolve().parent.parent
# words a grader should never meet in the PDF: self-set targets, plural templates, build commands,
# paths and environment variables, notebook parameter names
BANNED = [r"\bmisse[sd]\b", r"\(s\)", r"\bmake (report|test|lab|bench)\b", r"artifacts/", r"EX3_",
          r"\b[A-Z][A-Z0-9]+_[A-Z0-9_]+\b", r"printed below", r"\bfc_layers\b", r"\bOBJECTIVES?\b"]


def banned_tokens(text: str) -> list[str]:
    return [m.group(0) for pattern in BANNED for m in re.finditer(pattern, text)]


def pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(str(path)).pages]


def test_join_words():
    assert join_words(["0", "0.3", "1"]) == "0, 0.3 and 1"
    assert join_words([1, 3]) == "1 and 3"
    assert join_words(["1"]) == "1" and join_words([]) == ""


def test_plural():
    assert plural(1, "epoch") == "1 epoch"
    assert plural(4, "epoch") == "4 epochs"
    assert plural(2, "pair", "pairs of images") == "2 pairs of images"
    assert plural(60000, "image") == "60,000 images"


def test_banned_tokens_are_found():
    assert banned_tokens("trained for 4 epoch(s); the goal was missed; set AUX_WEIGHT") == \
        ["missed", "(s)", "AUX_WEIGHT"]
    assert banned_tokens("trained for 4 epochs on 2 CPU cores (MNIST-FID 17.3)") == []


def test_a_section_records_where_its_run_writes(tmp_path, monkeypatch, capsys):
    """In the build ($EX3_OUTPUT, its staging folder) a section's answers go to the staging folder;
    any other run writes under runs/<profile>/ and says so; neither touches the installed report."""
    monkeypatch.setenv("EX3_REPORT_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("EX3_OUTPUT", raising=False)
    Section(1, "q1", "smoke").answer_row("1a. FC layers?", "Yes", "0.0086", "Table 1.1")
    by_hand = tmp_path / "root" / "runs" / "smoke" / "report" / "metrics.json"
    assert json.loads(by_hand.read_text())["q1"]["answers"][0]["answer"] == "Yes"
    assert str(tmp_path / "root" / "runs" / "smoke") in capsys.readouterr().err
    monkeypatch.setenv("EX3_OUTPUT", str(tmp_path / "staging"))
    Section(2, "q2", "smoke").answer_row("2a. Correlation", "U-shaped", "0.15", "Figure 2.1")
    staged = json.loads((tmp_path / "staging" / "report" / "metrics.json").read_text())
    assert list(staged) == ["q2"] and capsys.readouterr().err == ""
    assert "q2" not in json.loads(by_hand.read_text())
    assert not (tmp_path / "root" / "report").exists()


@pytest.mark.skipif(not (ROOT / "report" / "ex3.pdf").exists(), reason="no committed report")
def test_committed_report_reads_as_a_report():
    pages = pdf_pages(ROOT / "report" / "ex3.pdf")
    text = "\n".join(pages)
    assert banned_tokens(text) == []
    assert any("Answers at a glance" in p for p in pages[:2]), "the answers must open the report"
    metrics = json.loads((ROOT / "report" / "metrics.json").read_text())
    counts = metrics.get("report", {})
    assert counts.get("pages_total") == len(pages)
    assert counts.get("pages_assignment", 99) <= 16, "the assignment part must fit in 16 pages"


def test_a_listing_is_the_functions_source_as_it_runs_without_its_docstring():
    import ast
    import inspect

    from helpers import gan
    from helpers.report import source_listing

    listing = source_listing(gan.g_step)
    assert listing.startswith("def g_step(") and gan.g_step.__doc__.strip().splitlines()[0] not in listing
    body = ast.parse(inspect.getsource(gan.g_step)).body[0].body[1:]  # the statements after the docstring
    assert [ast.dump(n) for n in ast.parse(listing).body[0].body] == [ast.dump(n) for n in body]
    with pytest.raises(TypeError, match="function"):
        source_listing(gan.GAN)
