"""What a notebook shows and records: numbered figures (also saved under ``figures/``), tables
rendered as real tables, prose formatted from computed values, and ``metrics.json``."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .checkpoints import atomic_write
from .environment import env
from .profiles import Profile, output_dirs


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _jsonable(value.item())
    return value


def _deep_merge(base: dict, update: dict) -> dict:
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_merge(base[k], v)
        else:
            base[k] = v
    return base


def record_metrics(path: Path, updates: dict) -> dict:
    """Write each top-level key of ``updates`` (a notebook's section, the build's ``provenance``)
    into the JSON file at ``path``, atomically, replacing that key's earlier value whole: what one
    run recorded never mixes with what an earlier run left under the same key. Other keys stay, so
    the build collects every notebook's section in one file. Returns the file's new content."""
    path = Path(path)
    current = {}
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except json.JSONDecodeError:
            current = {}
    merged = {**current, **_jsonable(updates)}
    atomic_write(path, lambda f: f.write(json.dumps(merged, indent=2, sort_keys=True) + "\n"), "w")
    return merged


def format_table(df: pd.DataFrame, floatfmt: str | dict = ".4g") -> pd.DataFrame:
    """Strings for display: floats with ``floatfmt`` (one format, or a dict column -> format with
    ``"default"`` for the rest), integers with thousands separators."""
    out = df.copy()
    formats = floatfmt if isinstance(floatfmt, dict) else {"default": floatfmt}
    for col in out.columns:
        fmt = formats.get(col, formats.get("default", ".4g"))
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "yes", False: "no"})
        elif pd.api.types.is_integer_dtype(out[col]):
            out[col] = out[col].map(lambda v: f"{v:,}")
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].map(lambda v, f=fmt: "n/a" if pd.isna(v) else format(v, f))
    out = out.astype(str).apply(lambda c: c.str.replace("|", r"\|", regex=False))
    out.columns = [str(c).replace("|", r"\|") for c in out.columns]
    out.index = [str(i).replace("|", r"\|") for i in out.index]
    return out


def format_metric(metrics: dict, path: str, fmt: str) -> str:
    """The value at dotted ``path`` in a metrics dict, formatted with ``fmt``; "n/a" if absent."""
    node = metrics
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return "n/a"
        node = node[key]
    return format(node, fmt) if isinstance(node, (int, float)) else str(node)


def read_metrics(profile: Profile | str) -> dict:
    """The profile's metrics.json as recorded so far ({} if none)."""
    path = output_dirs(profile if isinstance(profile, str) else profile.name)["report"] / "metrics.json"
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    """``plural(1, "epoch")`` -> "1 epoch", ``plural(4, "epoch")`` -> "4 epochs"."""
    return f"{n:,} {word if n == 1 else (plural_word or word + 's')}"


def join_words(items) -> str:
    """``["0", "0.3", "1"]`` -> "0, 0.3 and 1" (a single item alone, none: "")."""
    items = [str(i) for i in items]
    return " and ".join([", ".join(items[:-1]), items[-1]]) if len(items) > 1 else "".join(items)


def answer_rows(metrics: dict, headlines: bool = False) -> list[dict]:
    """The answer rows every notebook recorded (``Section.answer_row``), in question order; with
    ``headlines`` also the extras' headline numbers (``Section.headline``) after them."""
    sections = [metrics[k] for k in sorted(metrics) if isinstance(metrics[k], dict)]
    rows = [row for s in sections for row in s.get("answers", [])]
    if headlines:  # in section order (the number each notebook records them under), whatever the key
        numbered = sorted(((int(n), s["headlines"][n]) for s in sections for n in s.get("headlines", {})),
                          key=lambda pair: pair[0])
        rows += [row for _, section_rows in numbered for row in section_rows]
    return rows


def _markdown_table(header: list[str], rows: list[list], widths: tuple[int, ...] | None = None) -> str:
    """A pipe table; ``widths`` (dashes per column) set pandoc's relative column widths in the PDF."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":" + "-" * w for w in widths or [3] * len(header)) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", r"\|").replace("\n", " ") for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def summary_markdown(metrics: dict, answers: str = "") -> str:
    """``report/summary.md`` (linked from the README): where the numbers come from, the front page's
    ``answers`` (rendered by the build), then any headline numbers of the extras."""
    prov = metrics.get("provenance", {})
    head = (f"Profile `{prov.get('profile', '?')}`, seed offset {prov.get('seed_offset', 0)}, commit "
            f"`{str(prov.get('commit', '?'))[:12]}`, {prov.get('device', '?')}, total "
            f"{prov.get('total_seconds', 0) / 60:.1f} min.\n\n")
    rows = answer_rows(metrics, headlines=True)
    extras = _markdown_table(["section", "measure", "number"], [
        [r["question"], r["answer"], r.get("number", "")] for r in rows]) if rows else ""
    return head + answers + ("\n\n" if answers else "") + extras


FIGURE_DPI = 220  # print resolution of every figure (the PDF shows them at their size in inches)


def source_listing(obj) -> str:
    """The source of a function or method as it runs (not a copy that could drift from it),
    without its docstring."""
    import ast
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(obj))
    node = ast.parse(source).body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise TypeError(f"a listing shows a function or method, got {obj!r}")
    lines = source.splitlines()
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        del lines[first.lineno - 1:first.end_lineno]
    return "\n".join(lines).rstrip() + "\n"


class Section:
    """One report section (= one notebook): numbers its figures and tables as ``<n>.<k>`` and
    records its answers and numbers in ``metrics.json``."""

    def __init__(self, number: int, key: str, profile: Profile | str):
        self.number, self.key = number, key
        self.profile = profile if isinstance(profile, str) else profile.name
        dirs = output_dirs(self.profile)
        self.figures_dir, self.metrics_path = dirs["figures"], dirs["report"] / "metrics.json"
        if not env("EX3_OUTPUT"):  # outside the build: say where this run's results go
            print(f"this run writes its figures and numbers under {dirs['report'].parent}; "
                  "only the report build changes the committed report", file=sys.stderr)
        self._figures = self._tables = self._listings = 0
        self._answers: list[dict] = []
        self._headlines: list[dict] = []
        self._recorded: dict = {}  # everything this run recorded: metrics.json's section is this, whole

    @property
    def next_table(self) -> str:
        return f"Table {self.number}.{self._tables + 1}"

    def figure(self, fig, name: str, caption: str | None = None) -> None:
        """Save ``fig`` as ``figures/<name>.png`` at print resolution and show that same PNG (at its
        size in inches, also in the PDF). The caption is the markdown cell right after this one,
        opening with ``{{ figure("<name>") }}``, which the export numbers "Figure n.k" (and
        ``{{ ref("<name>") }}`` cites it anywhere). ``caption``: shown as an output instead, numbered
        by call order (the extras notebooks)."""
        import io

        import matplotlib.pyplot as plt
        from IPython.display import Image, Markdown, display

        self.figures_dir.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
        png = buf.getvalue()
        (self.figures_dir / f"{name}.png").write_bytes(png)
        width_px = int(round(fig.get_size_inches()[0] * 100))  # screen size in JupyterLab
        plt.close(fig)
        display(Image(data=png, format="png", width=width_px))
        if caption is not None:
            self._figures += 1
            display(Markdown(f"**Figure {self.number}.{self._figures}.** {caption}"))

    def table(self, df: pd.DataFrame, caption: str | None = None, floatfmt: str | dict = ".4g",
              index: bool = False) -> None:
        """Show ``df`` as a table. Its caption is the markdown cell right before this one, opening
        with ``{{ table("<label>") }}`` (numbered "Table n.k" at export); ``caption``: shown as an
        output instead, numbered by call order (the extras notebooks)."""
        from IPython.display import Markdown, display

        body = format_table(df, floatfmt).to_markdown(index=index, disable_numparse=True)
        if caption is None:
            display(Markdown(body))
            return
        self._tables += 1
        display(Markdown(f"**Table {self.number}.{self._tables}.** {caption}\n\n{body}"))

    def listing(self, name: str, caption: str, *functions) -> None:
        """Show the source of ``functions`` (the code that trains a model, read from the library
        as it runs) under "Listing n.k" and ``caption``; the text cites it as
        ``{{ <section key>.listings.<name> }}``. A cell tagged ``listing`` is shown in place in the
        notebook and gathered into an appendix of the PDF."""
        from IPython.display import Markdown, display

        self._listings += 1
        label = f"Listing {self.number}.{self._listings}"
        code = "\n\n".join(source_listing(f).rstrip() for f in functions)
        display(Markdown(f"**{label}.** {caption}\n\n```python\n{code}\n```"))
        self.record({"listings": {name: label}})

    def claim(self, name: str, holds) -> bool:
        """Record whether the condition that a sentence of the text rests on holds, under
        ``claims.<name>`` in this section's numbers; the sentence cites it as
        ``{{ claim("<section key>.<name>") }}`` and the export refuses a false or missing one."""
        holds = bool(holds)
        self.record({"claims": {name: holds}})
        return holds

    def formats(self, formats: dict[str, str] | None = None, **by_key: str) -> None:
        """The display format of recorded numbers (``format()`` specs such as ``".1%"``, ``".4f"``),
        written once: ``{{ q4.fid_gan }}`` in the text prints with it. Keys are dotted paths inside
        this section, ``*`` matching one level (``{"by_d.*.test_mse": ".4f"}``)."""
        self.record({"formats": {**(formats or {}), **by_key}})

    def answer_row(self, question: str, answer: str, number: str, where: str) -> None:
        """One row of the front page's "Answers at a glance" (recorded in metrics.json)."""
        self._answers.append({"question": question, "answer": answer, "number": number, "where": where})
        self.record({"answers": list(self._answers)})

    def headline(self, label: str, measure: str, number: str) -> None:
        """A headline number of a section beyond the assignment (the extras): not on the front page,
        but in ``report/summary.md`` beside the answers."""
        self._headlines.append({"question": label, "answer": measure, "number": number})
        self.record({"headlines": {str(self.number): list(self._headlines)}})

    @staticmethod
    def say(text: str):
        from IPython.display import Markdown, display

        display(Markdown(text))

    def record(self, values: dict) -> dict:
        """Add ``values`` to what this run recorded and write that, whole, under this section's key
        in the profile's ``metrics.json``: a run by hand replaces what an earlier run of the
        notebook left there rather than merging with it (its ``d`` values, say, never mix with
        another run's); in the build, each notebook writes its own key beside the others'."""
        # the profile travels with the numbers: the export checks the text's claims on the full profile's only
        _deep_merge(self._recorded, {"profile": self.profile, **_jsonable(values)})
        return record_metrics(self.metrics_path, {self.key: self._recorded})
