"""``make submission``: the zip the course asks for, ``ex3_<ID1>_<ID2>.zip``.

It holds the code (notebooks, library, toolchain, tests, benchmarks, Makefile, requirements,
pyproject), the committed report (``ex3.pdf``, the executed notebooks, ``metrics.json``, the
figures) and a README that opens with the authors' names, IDs and usernames, all taken from
``report/report.toml``. No data, cached weights, virtual environment, runs or smoke outputs.
A placeholder left in ``report.toml`` stops it with one line naming the file and the field.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from helpers.environment import PROJECT_ROOT

SETTINGS = PROJECT_ROOT / "report" / "report.toml"
CODE_FOLDERS = ("notebooks", "helpers", "tools", "tests", "benchmarks")
CODE_FILES = ("Makefile", "requirements.txt", "pyproject.toml", ".ci/run", ".gitignore")
REPORT_FILES = ("report/ex3.pdf", "report/metrics.json", "report/report.toml")
REPORT_GLOBS = ("report/executed/*.ipynb", "figures/*.png")
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints", "smoke", ".pytest_cache"}
FIELDS = ("name", "id", "username")
# what report.toml holds until the authors fill it in
PLACEHOLDERS = {"name": re.compile(r"^(Student (One|Two)|)$"), "id": re.compile(r"^(0+|\D*)$"),
                "username": re.compile(r"^(your-username.*|)$")}
ID = re.compile(r"^[0-9A-Za-z-]+$")  # it becomes part of the zip's file name


class SubmissionError(ValueError):
    pass


def read_settings(path: Path = SETTINGS) -> dict:
    return tomllib.loads(Path(path).read_text())


def placeholder_problems(settings: dict, path: Path = SETTINGS) -> list[str]:
    """One line per author field of ``settings`` that is missing or still a placeholder."""
    try:
        where = Path(path).relative_to(PROJECT_ROOT)
    except ValueError:
        where = path
    authors = settings.get("authors") or []
    if not authors:
        return [f"{where}: no [[authors]] entries"]
    problems = []
    for i, author in enumerate(authors, 1):
        if not isinstance(author, dict):
            problems.append(f"{where}: author {i} is {author!r}, not a table with {', '.join(FIELDS)}")
            continue
        for name in FIELDS:
            value = str(author.get(name, "")).strip()
            if PLACEHOLDERS[name].match(value):
                problems.append(f"{where}: authors[{i}].{name} is {value!r}, a placeholder: fill in the real {name}")
            elif name == "id" and not ID.match(value):
                problems.append(f"{where}: authors[{i}].id is {value!r}: letters, digits and '-' only (it names the zip)")
    return problems


def author_line(author: dict | str) -> str:
    """How the title page names an author: "Name (ID)"."""
    return author if isinstance(author, str) else f"{author.get('name', '')} (ID {author.get('id', '')})"


def _tracked(root: Path) -> set[Path] | None:
    """The files git tracks under ``root`` (None outside a git checkout, e.g. an unpacked zip)."""
    run = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True)
    if run.returncode != 0:
        return None
    return {Path(name) for name in run.stdout.decode().split("\0") if name}


def files_to_submit(root: Path = PROJECT_ROOT) -> list[Path]:
    """The project's files that go into the zip, relative to ``root``, sorted: in a git checkout
    only tracked ones (no scratch notebooks or other untracked files)."""
    found = [root / f for f in CODE_FILES + REPORT_FILES if (root / f).is_file()]
    for folder in CODE_FOLDERS:
        found += [p for p in (root / folder).rglob("*") if p.is_file()]
    for pattern in REPORT_GLOBS:
        found += list(root.glob(pattern))
    relative = {p.relative_to(root) for p in found}
    tracked = _tracked(root)
    if tracked is not None:
        relative &= tracked
    return sorted(p for p in relative if not SKIPPED_PARTS & set(p.parts) and p.suffix != ".pyc")


def readme(settings: dict, project_readme: str) -> str:
    rows = "\n".join(f"| {a['name']} | {a['id']} | {a['username']} |" for a in settings["authors"])
    return (f"# {settings.get('title', 'Exercise 3')}: submission\n\n"
            f"| author | ID | username |\n|:--|:--|:--|\n{rows}\n\n"
            "The report is `report/ex3.pdf`; the executed notebooks are in `report/executed/`.\n\n"
            + project_readme)


def make_zip(root: Path = PROJECT_ROOT, settings_path: Path | None = None, out_dir: Path | None = None) -> Path:
    """Write ``ex3_<ID1>_<ID2>.zip`` into ``out_dir`` (default ``root``); returns its path."""
    settings_path = settings_path or root / "report" / "report.toml"
    settings = read_settings(settings_path)
    problems = placeholder_problems(settings, settings_path)
    if problems:
        raise SubmissionError(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    if not (root / "report" / "ex3.pdf").exists():
        raise SubmissionError(f"{root / 'report' / 'ex3.pdf'} is missing: run `make report` first")
    ids = "_".join(str(a["id"]).strip() for a in settings["authors"])
    out = Path(out_dir or root) / f"ex3_{ids}.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in files_to_submit(root):
            if rel == Path("report/report.toml"):
                z.write(settings_path, str(rel))
            else:
                z.write(root / rel, str(rel))
        z.writestr("README.md", readme(settings, (root / "README.md").read_text()))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", type=Path, default=None, help="report.toml to take the authors from")
    parser.add_argument("--out", type=Path, default=None, help="folder to write the zip into (default: here)")
    args = parser.parse_args(argv)
    try:
        out = make_zip(settings_path=args.settings, out_dir=args.out)
    except SubmissionError as err:
        print(f"SUBMISSION REFUSED: {err}", file=sys.stderr)
        return 1
    with zipfile.ZipFile(out) as z:
        print(f"wrote {out} ({len(z.namelist())} files, {out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
