"""The report's text is the notebooks' markdown, written by its authors; the numbers in it are
placeholders that every export fills from the numbers the build recorded (``metrics.json``).

In a markdown cell (Jinja syntax):

* ``{{ q4.fid_gan }}`` prints the number recorded under ``q4`` → ``fid_gan``, in the format the
  notebook declared for it (``section.formats``; written once, so every mention reads alike);
  ``{{ q1.by_d["10"].test_mse }}`` reaches inside nested numbers;
* ``{{ claim("q4.gan_worse_than_mixture_100") }}`` marks the sentence it sits in as resting on the
  condition the notebook recorded with ``section.claim``; it prints nothing, and the export refuses
  to render when the condition is false or missing, naming the sentence (the smoke profile lists
  them instead: the text is written for the full profile's results);
* ``{{ figure("q4_fid") }}`` / ``{{ table("q4_scores") }}`` open a caption and print
  "**Figure 4.2.**"; ``{{ ref("q4_fid") }}`` prints "Figure 4.2" anywhere in the document.

Text cannot branch on a number (``{% if %}`` over a value is refused): a sentence that holds only
for some results is a claim, and a changed result sends its authors back to the sentence.

:class:`FillProse` is the nbconvert preprocessor (the build's PDF and HTML exports, and any plain
``jupyter nbconvert`` in this environment); ``python -m tools.prose NOTEBOOK [METRICS]`` checks one
notebook's text against a metrics file and prints it rendered.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jinja2
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

CLAIM = re.compile(r"""\s*\{\{\s*claim\(\s*["']([^"']+)["']\s*\)\s*\}\}""")
LABEL = re.compile(r"""\{\{\s*(figure|table)\(\s*["']([^"']+)["']\s*\)\s*\}\}""")
KIND_NAMES = {"figure": "Figure", "table": "Table"}


class ProseError(ValueError):
    """The text cannot be rendered from the recorded numbers: a placeholder names no number, a claim
    does not hold, a reference names no figure."""


def _matches(pattern: str, path: str) -> bool:
    p, k = pattern.split("."), path.split(".")
    return len(p) == len(k) and all(a in ("*", b) for a, b in zip(p, k))


def format_value(value, spec: str | None) -> str:
    """``value`` as the text prints it: with ``spec`` if the notebook declared one, else integers
    with thousands separators and other numbers to three significant digits."""
    if value is None:  # recorded as not measurable in this run (NaN or infinite)
        return "n/a"
    if isinstance(value, bool):
        raise ProseError("a yes/no value is a claim, not a number to print: cite it with claim(...)")
    if spec:
        return format(value, spec)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return format(value, ".3g")
    return str(value)


class Value:
    """One recorded number (or string) and the format declared for it."""

    def __init__(self, value, path: str, spec: str | None):
        self.value, self.path, self.spec = value, path, spec

    def __str__(self) -> str:
        return format_value(self.value, self.spec)

    def __bool__(self):
        raise ProseError(f"the text branches on {self.path}: write the sentence for the result, and record "
                         "the condition it rests on as a claim")


class Numbers:
    """The recorded numbers under one key of ``metrics.json``, reached as ``q4.fid_gan`` or
    ``q1.by_d["10"]``; a name that was not recorded stops the export."""

    def __init__(self, data: dict, path: str, formats: dict[str, str]):
        self._data, self._path, self._formats = data, path, formats

    def __getattr__(self, key: str):
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __getitem__(self, key):
        key = str(key)
        if key not in self._data:
            raise ProseError(f"{self._path}.{key} was not recorded (recorded here: "
                             f"{', '.join(sorted(map(str, self._data))[:12])})")
        value, path = self._data[key], f"{self._path}.{key}"
        if isinstance(value, dict):
            return Numbers(value, path, self._formats)
        if isinstance(value, list):
            raise ProseError(f"{path} is a list: record the number the text needs under its own name")
        relative = path.split(".", 1)[1]
        spec = next((f for pattern, f in self._formats.items() if _matches(pattern, relative)), None)
        return Value(value, path, spec)

    def __str__(self):
        raise ProseError(f"{self._path} is a group of numbers, not one")


def sentence_at(text: str, start: int) -> str:
    """The sentence of ``text`` around position ``start``, on one line."""
    begin = max(text.rfind("\n\n", 0, start), *(text.rfind(p, 0, start) + 1 for p in (". ", "? ", "! ", ".\n")))
    ends = [i for i in (text.find(p, start) for p in (". ", ".\n", "\n\n")) if i >= 0]
    end = min(ends) + 1 if ends else len(text)
    return " ".join(CLAIM.sub("", text[max(begin, 0):end]).split())


class Document:
    """Everything the text of one export may cite: the recorded numbers, the claims, and the
    figures and tables numbered in order of their captions within each section."""

    def __init__(self, metrics: dict, strict: bool = True):
        self.metrics, self.strict = metrics, strict
        self.labels: dict[str, str] = {}
        self.unchecked: list[str] = []

    def number_captions(self, cells: list[tuple[int, str, str]]) -> None:
        """``cells``: (section number, where, markdown source) in document order."""
        counters: dict[tuple[int, str], int] = {}
        for section, where, text in cells:
            for kind, label in LABEL.findall(text):
                if label in self.labels:
                    raise ProseError(f"{where}: the label {label!r} captions two floats")
                counters[section, kind] = counters.get((section, kind), 0) + 1
                number = f"{section}.{counters[section, kind]}" if section else str(counters[section, kind])
                self.labels[label] = f"{KIND_NAMES[kind]} {number}"

    def check_claims(self, where: str, text: str) -> list[str]:
        """Problems with the claims in ``text`` (a cell's markdown), one line each naming the sentence."""
        problems = []
        for match in CLAIM.finditer(text):
            name = match.group(1)
            section, _, claim = name.partition(".")
            recorded = self.metrics.get(section, {}).get("claims", {}) if isinstance(self.metrics.get(section), dict) else {}
            if claim not in recorded:
                state = "was not recorded"
            elif recorded[claim] is not True:
                state = "does not hold in these results"
            else:
                continue
            problems.append(f"{where}: the claim {name} {state}: \"{sentence_at(text, match.start())}\"")
        return problems

    def render(self, where: str, text: str) -> str:
        problems = self.check_claims(where, text)
        if problems and self.strict:
            raise ProseError("the text makes claims its results do not support; rewrite these sentences:\n  "
                             + "\n  ".join(problems))
        self.unchecked += problems
        source = CLAIM.sub("", text)
        if "{{" not in source and "{%" not in source:
            return source
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                                 keep_trailing_newline=True)
        names = {key: Numbers(value, key, value.get("formats", {}) if isinstance(value, dict) else {})
                 for key, value in self.metrics.items() if isinstance(value, dict)}
        try:
            return env.from_string(source).render(**names, figure=self._caption("figure"),
                                                  table=self._caption("table"), ref=self._ref)
        except ProseError as err:
            raise ProseError(f"{where}: {err}") from None
        except (jinja2.TemplateError, TypeError, ValueError) as err:  # syntax, arithmetic on a number, a bad format
            raise ProseError(f"{where}: {type(err).__name__}: {err}") from None

    def _caption(self, kind: str):
        def caption(label: str) -> str:
            return f"**{self.labels[label]}.**"
        return caption

    def _ref(self, label: str) -> str:
        if label not in self.labels:
            raise ProseError(f"ref({label!r}) names no figure or table caption "
                             f"(known: {', '.join(sorted(self.labels)) or 'none'})")
        return self.labels[label]


def section_number(cell, default: int) -> int:
    """A cell's section: the notebook number the build prefixes to its id (``04-...``), else ``default``."""
    match = re.match(r"(\d\d)-", str(cell.get("id", "")))
    return int(match.group(1)) if match else default


def fill(nb, metrics: dict, strict: bool = True, default_section: int = 0) -> tuple[object, list[str]]:
    """Render every markdown cell of ``nb`` in place; returns it and the claims left unchecked
    (non-strict) or raises :class:`ProseError`."""
    doc = Document(metrics, strict)
    markdown = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    where = lambda i, c: f"cell {i}" + (f" (id {c['id']})" if c.get("id") else "")
    doc.number_captions([(section_number(c, default_section), where(i, c), c.source) for i, c in markdown])
    errors = []
    for i, cell in markdown:
        try:
            cell.source = doc.render(where(i, cell), cell.source)
        except ProseError as err:
            errors.append(str(err))
    if errors:
        raise ProseError("\n".join(errors))
    return nb, doc.unchecked


def find_metrics(notebook_dir: Path) -> Path | None:
    """The ``metrics.json`` beside an executed notebook: in its folder or the one above
    (``report/executed/x.ipynb`` → ``report/metrics.json``)."""
    for folder in (notebook_dir, notebook_dir.parent):
        if (folder / "metrics.json").exists():
            return folder / "metrics.json"
    return None


def is_smoke(metrics: dict) -> bool:
    return metrics.get("provenance", {}).get("profile", "full") != "full" or any(
        isinstance(v, dict) and v.get("profile", "full") != "full" for v in metrics.values())


class FillProse(Preprocessor):
    """Fill the markdown's placeholders from ``metrics_path`` (default: the ``metrics.json`` beside
    the notebook), check its claims (strict unless the numbers are a smoke run's) and number its
    captions. The notebooks' sources keep the placeholders."""

    metrics_path = Unicode("", help="metrics.json to read (default: beside the notebook)").tag(config=True)
    strict = Bool(True, help="refuse a claim that does not hold (a smoke run's numbers: list them)").tag(config=True)

    def preprocess(self, nb, resources):
        path = Path(self.metrics_path) if self.metrics_path else find_metrics(
            Path(resources.get("metadata", {}).get("path") or "."))
        metrics = json.loads(path.read_text()) if path and path.exists() else {}
        name = resources.get("metadata", {}).get("name", "")
        default = int(name[:2]) if name[:2].isdigit() else 0
        nb, unchecked = fill(nb, metrics, strict=self.strict and not is_smoke(metrics), default_section=default)
        resources["ex3_unchecked_claims"] = unchecked
        for line in unchecked:
            print(f"claim not checked (smoke profile): {line}", file=sys.stderr)
        return nb, resources


WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def _string_words(source: str) -> int:
    import ast

    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return 0
    return sum(len(WORD.findall(node.value)) for node in ast.walk(tree)
               if isinstance(node, ast.Constant) and isinstance(node.value, str))


def prose_words(nb) -> dict[str, int]:
    """Words of prose in a notebook: in its markdown (placeholders left out) and in the string
    literals of its code cells (captions, headers, messages), the parameters cell excepted."""
    markdown = sum(len(WORD.findall(re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", c.source, flags=re.S)))
                   for c in nb.cells if c.cell_type == "markdown")
    code = sum(_string_words(c.source) for c in nb.cells
               if c.cell_type == "code" and "parameters" not in c.get("metadata", {}).get("tags", []))
    return {"markdown": markdown, "code strings": code}


def main(argv=None) -> int:
    import nbformat

    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m tools.prose NOTEBOOK [METRICS] | python -m tools.prose --share NOTEBOOK...",
              file=sys.stderr)
        return 2
    if argv[0] == "--share":
        totals = {"markdown": 0, "code strings": 0}
        for path in argv[1:]:
            words = prose_words(nbformat.read(path, as_version=4))
            totals = {k: totals[k] + words[k] for k in totals}
            share = words["code strings"] / max(1, sum(words.values()))
            print(f"{Path(path).name}: {words['code strings']} words in code strings, {words['markdown']} in "
                  f"markdown: {share:.0%} in code")
        print(f"all: {totals['code strings'] / max(1, sum(totals.values())):.0%} of the prose words in code strings")
        return 0
    nb_path = Path(argv[0])
    metrics_path = Path(argv[1]) if len(argv) > 1 else find_metrics(nb_path.parent)
    metrics = json.loads(metrics_path.read_text()) if metrics_path else {}
    nb = nbformat.read(nb_path, as_version=4)
    try:
        nb, unchecked = fill(nb, metrics, strict=not is_smoke(metrics),
                             default_section=int(nb_path.name[:2]) if nb_path.name[:2].isdigit() else 0)
    except ProseError as err:
        print(f"TEXT REFUSED ({nb_path.name}, numbers from {metrics_path}):\n{err}", file=sys.stderr)
        return 1
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            print(cell.source, end="\n\n")
    for line in unchecked:
        print(f"claim not checked (smoke profile): {line}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
