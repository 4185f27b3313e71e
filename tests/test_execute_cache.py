"""The build's execute cache: a notebook runs again only when what determined it changed."""
import gzip
import json
import os
import time

import nbformat
import pytest

import buildkit
from tools import execute_cache as cache
from tools.build import build


def _nb(cells):
    nb = nbformat.v4.new_notebook()
    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [new[kind](source) for kind, source in cells]
    return nb


def test_module_digest_ignores_docstrings_and_comments_but_not_code(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""Module."""\ndef loss(x):\n    """Mean square."""\n    return (x ** 2).mean()  # why\n')
    before = cache.module_digest(path)
    path.write_text('"""Another text."""\n# a comment\ndef loss(x):\n    """Other words."""\n    return (x ** 2).mean()\n')
    assert cache.module_digest(path) == before
    path.write_text('"""Module."""\ndef loss(x):\n    """Mean square."""\n    return (x ** 2).sum()\n')
    assert cache.module_digest(path) != before


def test_helpers_closure_follows_imports_inside_the_package():
    modules = cache.helpers_closure("from helpers import zoo\nimport torch")
    # zoo imports checkpoints, which imports training: the losses a cached model was trained with
    assert {"zoo", "checkpoints", "training", "models", "data", "__init__"} <= set(modules)
    assert "attention" not in modules
    assert set(cache.helpers_closure("from helpers.attention import Attention")) >= {"attention"}


def test_data_digest_is_the_same_for_an_archive_and_its_extracted_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    with gzip.open(raw / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(b"pixels")
    archived = cache.data_digests(tmp_path)
    (raw / "train-images-idx3-ubyte").write_bytes(b"pixels")
    assert cache.data_digests(tmp_path) == archived
    assert archived["MNIST/train-images-idx3-ubyte"] is not None and archived["MNIST/t10k-images-idx3-ubyte"] is None
    (raw / "train-images-idx3-ubyte").write_bytes(b"other pixels")
    assert cache.data_digests(tmp_path) != archived


def test_fingerprint_ignores_markdown_and_names_what_changed(tmp_path):
    path = tmp_path / "01.ipynb"
    fixed = dict(packages={"torch": "2.14.1"}, data={"MNIST/x": "abc"})
    nbformat.write(_nb([("markdown", "# Q1\nWe expected less."), ("code", "from helpers import metrics\nx = 1")]), path)
    first = cache.fingerprint(path, "smoke", tmp_path, **fixed)
    nbformat.write(_nb([("markdown", "# Q1\nWe expected more."), ("code", "from helpers import metrics\nx = 1")]), path)
    assert cache.fingerprint(path, "smoke", tmp_path, **fixed).digest == first.digest
    nbformat.write(_nb([("markdown", "# Q1"), ("code", "from helpers import metrics\nx = 2")]), path)
    changed = cache.fingerprint(path, "smoke", tmp_path, **fixed)
    assert changed.digest != first.digest and changed.changes_from(first.parts) == ["code cells"]
    assert "metrics.py" in first.parts["helpers"]
    other = cache.fingerprint(path, "full", tmp_path, packages={"torch": "2.15.0"}, data=fixed["data"])
    assert other.changes_from(changed.parts) == ["packages (torch)", "profile"]


def test_a_notebook_depends_only_on_the_data_it_reads(tmp_path):
    path = tmp_path / "01.ipynb"
    data = {"MNIST/train-images-idx3-ubyte": "a", "FashionMNIST/train-images-idx3-ubyte": None}
    nbformat.write(_nb([("code", "from helpers import notebook\nsetup = notebook.setup(1, 'q1', 'smoke')")]), path)
    mnist_only = cache.fingerprint(path, "smoke", tmp_path, packages={}, data=data)
    assert list(mnist_only.parts["data"]) == ["MNIST/train-images-idx3-ubyte"]
    extracted = {**data, "FashionMNIST/train-images-idx3-ubyte": "b"}  # Fashion-MNIST extracted meanwhile
    assert cache.fingerprint(path, "smoke", tmp_path, packages={}, data=extracted).digest == mnist_only.digest
    nbformat.write(_nb([("code", "setup = notebook.setup(8, 'appendix', 'smoke', dataset='fashion')")]), path)
    fashion = cache.fingerprint(path, "smoke", tmp_path, packages={}, data=data)
    assert fashion.changes_from(cache.fingerprint(path, "smoke", tmp_path, packages={}, data=extracted).parts) == \
        ["data (FashionMNIST/train-images-idx3-ubyte)"]


def test_what_a_notebook_reads_of_other_sections_is_their_numbers():
    before = cache.sections_digest({"q1": {"mse": 0.0086}, "q3": {"acc": 0.85}, "provenance": {"built": "x"}})
    assert set(before) == {"q1", "q3"}
    assert cache.sections_digest({"q1": {"mse": 0.0086}, "q3": {"acc": 0.85}, "provenance": {"built": "y"}}) == before
    assert cache.sections_digest({"q1": {"mse": 0.0087}, "q3": {"acc": 0.85}})["q1"] != before["q1"]


def test_why_stale_and_prose_from_the_source(tmp_path):
    source = _nb([("markdown", "# Q1"), ("code", "PROFILE = 'smoke'"), ("code", "print(1)")])
    source.cells[1].metadata["tags"] = ["parameters"]
    path = tmp_path / "01.ipynb"
    nbformat.write(source, path)
    fp = cache.fingerprint(path, "smoke", tmp_path, packages={}, data={})
    executed = json.loads(json.dumps(source))
    executed = nbformat.from_dict(executed)
    injected = nbformat.v4.new_code_cell("PROFILE = 'full'")
    injected.metadata["tags"] = ["injected-parameters"]
    executed.cells.insert(2, injected)
    executed.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                                 nbformat.v4.new_output("stream", name="stderr", text="cache: loaded ae-1.pt\n")]
    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "ae-1.pt").write_bytes(b"weights")
    cache.stamp(executed, fp, tmp_path / "artifacts", {"seconds": 1.0, "commit": "abc", "device": "cpu"}, ["q1"], [])
    assert executed.metadata["ex3"]["loaded"] == 1
    copy = tmp_path / "executed.ipynb"
    nbformat.write(executed, copy)
    assert cache.why_stale(copy, fp, tmp_path / "artifacts") is None
    assert cache.why_stale(tmp_path / "none.ipynb", fp, tmp_path / "artifacts") == "no executed copy with a fingerprint"
    (tmp_path / "artifacts" / "ae-1.pt").unlink()  # a missing model: the copy still holds what it computed
    assert cache.why_stale(copy, fp, tmp_path / "artifacts") is None
    (tmp_path / "artifacts" / "ae-1.pt").write_bytes(b"other weights")
    assert "ae-1.pt has changed" in cache.why_stale(copy, fp, tmp_path / "artifacts")
    (tmp_path / "artifacts" / "ae-1.pt").unlink()
    assert cache.why_stale(copy, fp, tmp_path / "artifacts", tmp_path, {"q1": {}}) is None
    assert cache.why_stale(copy, fp, tmp_path / "artifacts", tmp_path, {}) == "its numbers (q1) are missing from metrics.json"
    source.cells[0].source = "# Q1\nWhat we found."
    merged = cache.with_source_prose(source, executed)
    assert [c.source for c in merged.cells] == ["# Q1\nWhat we found.", "PROFILE = 'smoke'", "PROFILE = 'full'", "print(1)"]
    assert merged.cells[3].outputs[0]["text"] == "1\n"


def _section(folder, name, number, markdown, value):
    return buildkit.notebook(folder / name, [
        ("markdown", markdown),
        ("code", "import matplotlib.pyplot as plt\nfrom helpers.report import Section\n\n"
                 f"section = Section({number}, 's{number}', PROFILE)\n"
                 f"section.record({{'value': {value}}})\n"
                 f"section.answer_row('{number}a. A question', 'An answer', '{value}', 'Figure {number}.1')\n"
                 "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [0, 1])\n"
                 f"section.figure(fig, 's{number}_line', 'A line.')"),
    ])


@pytest.mark.slow
def test_a_rebuild_executes_only_what_changed(tmp_path, monkeypatch):
    """Nothing changed: no notebook runs, the numbers, figures and document stay. A prose edit:
    nothing runs, the document shows the new words. A code edit: that notebook alone runs.
    ``force``: every notebook runs."""
    for name, value in dict(EX3_PROFILE="smoke", EX3_ARTIFACTS=str(tmp_path / "artifacts"),
                            EX3_REPORT_ROOT=str(tmp_path)).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EX3_OUTPUT", raising=False)
    # what is executed is the question here, not the PDF (test_build covers it): HTML is quicker
    monkeypatch.setattr("tools.build._latex_tools", lambda: "LaTeX left out by this test")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebooks = [_section(folder, "01_first.ipynb", 1, "# First section\n\nWe expected a line.", 1),
                 _section(folder, "02_second.ipynb", 2, "# Second section\n\nAnother line.", 2)]
    report = tmp_path / "report" / "smoke"

    def run(**kwargs):
        log = []
        start = time.perf_counter()
        build("smoke", notebooks=notebooks, log=log.append, **kwargs)
        ran = [n.name for n in notebooks if any(line.startswith(f"[{i}/2] {n.name} (profile") for i, _ in
                                                enumerate(notebooks, 1) for line in log)]
        return ran, time.perf_counter() - start, "\n".join(log)

    assert run()[0] == ["01_first.ipynb", "02_second.ipynb"]
    metrics = json.loads((report / "metrics.json").read_text())
    executed_before = {p.name: p.read_bytes() for p in (report / "executed").iterdir()}
    ran, seconds, log = run()
    assert ran == [] and "unchanged, reusing" in log
    assert {p.name: p.read_bytes() for p in (report / "executed").iterdir()} == executed_before
    assert seconds < 30, f"a rebuild with nothing changed took {seconds:.0f} s"
    again = json.loads((report / "metrics.json").read_text())
    assert {k: again[k] for k in ("s1", "s2")} == {k: metrics[k] for k in ("s1", "s2")}
    assert again["provenance"]["reused"] == ["01_first.ipynb", "02_second.ipynb"]
    assert sorted(p.name for p in (tmp_path / "figures" / "smoke").glob("*.png")) == ["s1_line.png", "s2_line.png"]
    assert (report / "ex3.html").exists()
    # a prose edit reaches the executed copy and the document without executing anything
    nb = nbformat.read(notebooks[0], as_version=4)
    nb.cells[1].source = "# First section\n\nWe found a straight line."
    nbformat.write(nb, notebooks[0])
    ran, _, _ = run()
    assert ran == []
    executed = nbformat.read(report / "executed" / "01_first.ipynb", as_version=4)
    assert "We found a straight line." in (report / "ex3.html").read_text()
    markdown = [c.source for c in executed.cells if c.cell_type == "markdown"]
    assert markdown == ["# First section\n\nWe found a straight line."]
    assert any(o.get("output_type") == "display_data" for o in executed.cells[-1].outputs), "outputs kept"
    # a code edit runs that notebook alone, and its new number replaces the old one
    nb = nbformat.read(notebooks[1], as_version=4)
    nb.cells[2].source = nb.cells[2].source.replace("{'value': 2}", "{'value': 3}")
    nbformat.write(nb, notebooks[1])
    ran, _, log = run()
    assert ran == ["02_second.ipynb"] and "changed: code cells" in log
    assert json.loads((report / "metrics.json").read_text())["s2"]["value"] == 3
    assert run(force=True)[0] == ["01_first.ipynb", "02_second.ipynb"]
