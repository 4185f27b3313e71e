"""``make submission``: the zip the course asks for, built from report/report.toml."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers.profiles import PROJECT_ROOT
from tools.submission import SubmissionError, files_to_submit, make_zip, placeholder_problems, read_settings

AUTHORS = """title = "Exercise 3"
course = "Deep Learning"

[[authors]]
name = "Ada Lovelace"
id = "123456789"
username = "adal"

[[authors]]
name = "Alan Turing"
id = "987654321"
username = "aturing"
"""


PLACEHOLDER = AUTHORS.replace("Ada Lovelace", "Student One").replace("123456789", "000000000")


def test_placeholders_are_refused_and_nothing_is_written(tmp_path):
    settings = tmp_path / "report.toml"
    settings.write_text(PLACEHOLDER)
    problems = placeholder_problems(read_settings(settings), settings)
    assert problems == [f"{settings}: authors[1].name is 'Student One', a placeholder: fill in the real name",
                        f"{settings}: authors[1].id is '000000000', a placeholder: fill in the real id"]
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(SubmissionError, match=r"authors\[1\]\.name is 'Student One', a placeholder: fill in the real name \(and 1 more\)"):
        make_zip(settings_path=settings, out_dir=out)
    assert list(out.iterdir()) == []


def test_the_command_refuses_placeholders_in_one_line(tmp_path):
    settings = tmp_path / "report.toml"
    settings.write_text(PLACEHOLDER)
    run = subprocess.run([sys.executable, "-m", "tools.submission", "--settings", str(settings), "--out", str(tmp_path)],
                         cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert run.returncode == 1 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "report.toml: authors[1].name is 'Student One'" in run.stderr
    assert not list(tmp_path.glob("*.zip"))


def test_an_id_that_cannot_name_a_file_is_refused(tmp_path):
    settings = tmp_path / "report.toml"
    settings.write_text(AUTHORS.replace("987654321", "98/76"))
    assert placeholder_problems(read_settings(settings), settings) == \
        [f"{settings}: authors[2].id is '98/76': letters, digits and '-' only (it names the zip)"]


def test_a_missing_field_is_named(tmp_path):
    settings = tmp_path / "report.toml"
    settings.write_text(AUTHORS.replace('username = "aturing"\n', ""))
    assert placeholder_problems(read_settings(settings), settings) == \
        [f"{settings}: authors[2].username is '', a placeholder: fill in the real username"]


def test_files_leave_out_data_weights_runs_and_smoke_outputs():
    files = {str(p) for p in files_to_submit()}
    assert {"Makefile", "requirements.txt", "pyproject.toml", "helpers/models.py", "tools/build.py",
            "report/ex3.pdf", "notebooks/01_autoencoder.ipynb", "report/executed/01_autoencoder.ipynb"} <= files
    assert not [f for f in files if f.split("/")[0] in ("data", "artifacts", ".venv", "runs")
                or "/smoke/" in f or "__pycache__" in f or f.endswith(".zip")]


def test_untracked_files_stay_out(tmp_path):
    scratch = PROJECT_ROOT / "notebooks" / "scratch_untracked_by_test.ipynb"
    scratch.write_text("{}")
    try:
        assert "notebooks/scratch_untracked_by_test.ipynb" not in {str(p) for p in files_to_submit()}
    finally:
        scratch.unlink()


@pytest.mark.slow
def test_the_zip_unpacks_into_a_project_whose_notebook_runs(tmp_path):
    settings = tmp_path / "report.toml"
    settings.write_text(AUTHORS)
    out = make_zip(settings_path=settings, out_dir=tmp_path)
    assert out.name == "ex3_123456789_987654321.zip"
    unpacked = tmp_path / "unpacked" / "ex3"
    with zipfile.ZipFile(out) as z:
        z.extractall(unpacked)
    names = {str(p.relative_to(unpacked)) for p in unpacked.rglob("*") if p.is_file()}
    assert names == {str(p) for p in files_to_submit()} | {"README.md"}
    readme = (unpacked / "README.md").read_text()
    assert "| Ada Lovelace | 123456789 | adal |" in readme and "| Alan Turing | 987654321 | aturing |" in readme
    assert (unpacked / "report" / "ex3.pdf").read_bytes() == (PROJECT_ROOT / "report" / "ex3.pdf").read_bytes()
    assert (unpacked / "report" / "report.toml").read_text() == AUTHORS
    # the data beside the unpacked copy, as ../shared provides it beside a checkout
    shared = tmp_path / "unpacked" / "shared" / "data" / "MNIST" / "raw"
    shared.mkdir(parents=True)
    for archive in (PROJECT_ROOT / "data" / "MNIST" / "raw").glob("*.gz"):
        shutil.copy(archive, shared / archive.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EX3_")}
    env.update(EX3_ARTIFACTS=str(tmp_path / "artifacts"), PYTHONPATH=str(unpacked))  # its helpers, not ours
    made = subprocess.run(["make", "-s", "data", "PYTHON=" + sys.executable], cwd=unpacked, env=env,
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (unpacked / "data" / "MNIST" / "raw").glob("*.gz")) == sorted(
        p.name for p in shared.glob("*.gz"))
    run = subprocess.run([sys.executable, "-m", "papermill", "notebooks/06_theory.ipynb", str(tmp_path / "q6.ipynb"),
                          "-k", "ex3", "-p", "PROFILE", "smoke"], cwd=unpacked, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (unpacked / "runs" / "smoke" / "report" / "metrics.json").exists(), "the unpacked helpers wrote its results"
