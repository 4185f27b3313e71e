"""Build the report: ``python -m tools.build --profile full`` (what ``make report`` runs).

1. papermill executes ``notebooks/NN_*.ipynb`` in order into a staging folder
   (``runs/.build-<profile>/``), timing each; a failure stops the build, naming the notebook and
   cell (the executed copy with the traceback is kept there);
2. the executed notebooks are merged into one document (code hidden, stderr/progress-bar and
   widget outputs dropped), a provenance appendix is appended and stamped into
   ``metrics.json``;
3. nbconvert renders LaTeX and xelatex makes ``ex3.pdf``; without xelatex/pandoc the build
   writes ``ex3.html`` and says why;
4. only then are metrics.json, the executed notebooks, the figures and the PDF swapped into
   ``report/`` and ``figures/`` together: a failed or interrupted build leaves them untouched.
One build per profile runs at a time (a lock file names the process holding it).
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import os
import json
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from helpers.profiles import PROJECT_ROOT, committed_dirs, env, get_profile, output_dirs, report_root
from helpers.report import record_metrics, summary_markdown

from . import execute_cache as cache
from .export import TEMPLATE, TEMPLATES, TEX_GLYPHS, CleanOutputs
from .prose import Document, FillProse, ProseError
from .submission import author_line, placeholder_problems

TITLE = "Exercise 3: autoencoding and generative models for MNIST"
KERNEL = "ex3"


class BuildError(RuntimeError):
    pass


EXTRAS_NOTEBOOKS = ("07_extras.ipynb", "08_fashion_mnist.ipynb")


def extras_enabled() -> bool:
    """Extras (``notebooks/07_extras.ipynb`` and the Fashion-MNIST appendix
    ``08_fashion_mnist.ipynb``, beyond the assignment) run only when asked for:
    ``--extras`` or ``EX3_EXTRAS=1`` (``make report EXTRAS=1``); they add more than the core
    report's time budget allows."""
    return str(env("EX3_EXTRAS", "0")).lower() in ("1", "true", "yes", "on")


def source_notebooks(directory: Path = PROJECT_ROOT / "notebooks", extras: bool = False) -> list[Path]:
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb")
                  if extras or p.name not in EXTRAS_NOTEBOOKS)


def execute(notebooks: list[Path], staged: dict[str, Path], profile: str, committed: dict[str, Path] | None = None,
            force: bool = True, kernel: str = KERNEL, log=print) -> dict[str, dict]:
    """Run each notebook with papermill into ``staged["executed"]``, or reuse its committed executed
    copy when nothing that determined it changed (:mod:`tools.execute_cache`; ``force`` runs all).
    Returns {notebook name: what happened} with its seconds, whether it was reused, and the models
    it trained or loaded."""
    import papermill as pm

    offset = get_profile(profile).seed_offset  # from $EX3_SEED_OFFSET, which the kernels inherit
    profile_key = profile + (f"+seed_offset={offset}" if offset else "")
    staged["executed"].mkdir(parents=True, exist_ok=True)
    with _stderr_to(staged["report"].parent / "kernels.log"):
        return _execute_each(pm, notebooks, staged, committed or {}, profile, profile_key, kernel, force, log)


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send file descriptor 2 (inherited by the kernels) to ``path`` while notebooks run: the
    kernels' own warnings, and their tracebacks when Ctrl-C reaches them too, stay out of the
    terminal, where the build then says in one line what happened."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def _metrics(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _execute_each(pm, notebooks, staged, committed, profile, profile_key, kernel, force, log) -> dict[str, dict]:
    from helpers.data import data_root

    runs: dict[str, dict] = {}
    packages, data = cache.required_package_versions(), cache.data_digests(data_root())
    metrics_path = staged["report"] / "metrics.json"
    recorded = _metrics(committed["report"] / "metrics.json") if committed else {}
    for i, nb in enumerate(notebooks, 1):
        out = staged["executed"] / nb.name
        # the numbers the notebooks before this one recorded in this build (run or reused)
        upstream = cache.sections_digest(_metrics(metrics_path)) if cache.reads_other_sections(nb) else {}
        fp = cache.fingerprint(nb, profile_key, data_root(), upstream, packages=packages, data=data)
        previous = committed["executed"] / nb.name if committed else None
        if force:
            reason = "forced (FORCE=1)"
        elif previous is None:
            reason = "no committed copy to compare with"
        else:
            reason = cache.why_stale(previous, fp, staged["artifacts"], committed["figures"], recorded)
        if reason is None:
            runs[nb.name] = _reuse(nb, previous, staged, committed, recorded)
            log(f"[{i}/{len(notebooks)}] {nb.name}: unchanged, reusing the copy executed at "
                f"{runs[nb.name]['commit'][:12]}")
            continue
        log(f"[{i}/{len(notebooks)}] {nb.name} (profile {profile}): {reason} ...")
        keys_before = set(_metrics(metrics_path))
        figures_before = {p.name for p in staged["figures"].glob("*.png")}
        start = time.perf_counter()
        # the kernel imports this checkout's helpers, whichever checkout the editable install names
        path = os.pathsep.join(filter(None, (str(PROJECT_ROOT), os.environ.get("PYTHONPATH"))))
        try:
            with _environ(PYTHONPATH=path):
                pm.execute_notebook(str(nb), str(out), parameters={"PROFILE": profile},
                                    kernel_name=kernel, cwd=str(nb.parent), progress_bar=False)
        except pm.PapermillExecutionError as err:
            raise BuildError(
                f"{nb.name} failed in cell {err.cell_index} (execution count {err.exec_count}): "
                f"{err.ename}: {err.evalue}\n  the executed copy with the traceback: {out}") from err
        seconds = round(time.perf_counter() - start, 1)
        executed = nbformat.read(out, as_version=4)
        for problem in cache.retrained_stale(executed):
            log(f"      WARNING: a cached model was refused and retrained: {problem}")
        cache.stamp(executed, fp, staged["artifacts"],
                    {"seconds": seconds, "commit": _git_commit(), "device": device_name()},
                    metrics_keys=sorted(set(_metrics(metrics_path)) - keys_before),
                    figures=sorted({p.name for p in staged["figures"].glob("*.png")} - figures_before))
        nbformat.write(executed, out)
        runs[nb.name] = {**_run_summary(executed.metadata[cache.METADATA_KEY]), "reused": False}
        log(f"      done in {seconds:.0f} s ({runs[nb.name]['trained']} models trained, "
            f"{runs[nb.name]['loaded']} loaded)")
    return runs


def _run_summary(meta: dict) -> dict:
    return {k: meta[k] for k in ("seconds", "commit", "device", "trained", "loaded")}


def _reuse(source: Path, previous: Path, staged: dict[str, Path], committed: dict[str, Path], recorded: dict) -> dict:
    """Stage the committed executed copy of ``source`` (with the source's markdown), its figures and
    its numbers (from ``recorded``, the committed metrics.json), as if it had just run."""
    executed = nbformat.read(previous, as_version=4)
    meta = executed.metadata[cache.METADATA_KEY]
    merged = cache.with_source_prose(nbformat.read(source, as_version=4), executed)
    nbformat.write(merged, staged["executed"] / source.name)
    for name in meta["figures"]:
        shutil.copy2(committed["figures"] / name, staged["figures"] / name)
    # every key is there: why_stale checked
    record_metrics(staged["report"] / "metrics.json", {k: recorded[k] for k in meta["metrics_keys"]})
    return {**_run_summary(meta), "reused": True}


REPORT_SETTINGS = PROJECT_ROOT / "report" / "report.toml"
# the front page's text: our answers, one sentence and one number each, with placeholders (tools.prose)
FRONT_PAGE = PROJECT_ROOT / "report" / "answers.md"
# cells only a reader of the notebook needs (the model printed, a training step in code)
NOTEBOOK_ONLY = "notebook-only"
# cells that show the code training a model (Section.listing): in place in the notebook, in the
# PDF gathered after the assignment part, so that they do not count against its pages
LISTING = "listing"
LISTINGS_APPENDIX = """# Appendix: the code that trains each model

Each listing below is the library's own source, read when the notebook ran: the step that each
question's training loop repeats. The loops around them draw the seeded batches, schedule the
learning rate and record the losses."""


def report_settings(path: Path = REPORT_SETTINGS) -> dict:
    """Title, authors and course of the report, from ``report/report.toml`` (filled in once)."""
    import tomllib

    settings = {"title": TITLE, "authors": [], "course": ""}
    if path.exists():
        settings.update(tomllib.loads(path.read_text()))
    return settings


def merge(executed: list[Path], appendix_markdown: str, front_markdown: str = "",
          settings: dict | None = None) -> nbformat.NotebookNode:
    """One notebook: the front page's answers, then every executed notebook's cells (parameter and
    notebook-only cells dropped, listing cells moved to their own appendix after the last
    notebook's), then the appendix. Outputs are cleaned on export (:class:`CleanOutputs`)."""
    settings = settings or report_settings()
    merged = nbformat.v4.new_notebook()
    merged.metadata["title"] = settings["title"]
    names = ", ".join(author_line(a) for a in settings["authors"]) + \
        (f" \\\\ {settings['course']}" if settings.get("course") else "")
    merged.metadata["authors"] = [{"name": names}]
    if front_markdown:
        merged.cells.append(nbformat.v4.new_markdown_cell(front_markdown))
    listings = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        merged.metadata.setdefault("kernelspec", nb.metadata.get("kernelspec", {}))
        merged.metadata.setdefault("language_info", nb.metadata.get("language_info", {}))
        for cell in nb.cells:
            if "id" in cell:  # ids repeat across notebooks (c1, c2, ...): prefix the notebook's number
                cell["id"] = f"{path.name[:2]}-{cell['id']}"
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & {"parameters", "injected-parameters", NOTEBOOK_ONLY}:
                continue
            (listings if LISTING in tags else merged.cells).append(cell)
    if listings:
        merged.cells += [nbformat.v4.new_markdown_cell(LISTINGS_APPENDIX), *listings]
    merged.cells.append(nbformat.v4.new_markdown_cell(appendix_markdown))
    return merged


def _git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "helpers", "notebooks"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
        return commit + ("+uncommitted-changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def installed_distributions() -> dict[str, str]:
    """The resolved version of every installed distribution (what ``pip freeze`` lists)."""
    from importlib import metadata

    found = {d.metadata["Name"]: d.version for d in metadata.distributions() if d.metadata["Name"]}
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def device_name() -> str:
    import torch

    from helpers.training import default_device

    device = default_device()
    return torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(profile: str, runs: dict[str, dict], total: float, extras: bool = False, seed_offset: int = 0) -> dict:
    """Where the report's numbers come from: this build's source version and software, and for each
    notebook the run that executed it (this build's, or an earlier one reused unchanged)."""
    import torch

    devices = sorted({r["device"] for r in runs.values()})
    return {"commit": _git_commit(), "profile": profile, "seed_offset": seed_offset, "device": " / ".join(devices),
            "torch": torch.__version__, "python": platform.python_version(), "packages": installed_distributions(),
            "platform": platform.platform(), "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            # total_seconds: what the notebooks' runs took (a reused notebook counts its own run);
            # build_seconds: this build's wall time
            "notebook_seconds": {n: r["seconds"] for n, r in runs.items()},
            "total_seconds": round(sum(r["seconds"] for r in runs.values()), 1), "build_seconds": round(total, 1),
            "notebook_runs": runs, "reused": sorted(n for n, r in runs.items() if r["reused"]),
            "cache": {"trained": sum(r["trained"] for r in runs.values()),
                      "loaded_from_earlier_runs": sum(r["loaded"] for r in runs.values())},
            "extras": extras}


def _section_name(notebook: str) -> str:
    return f"Q{notebook[1]}" if notebook[:2].isdigit() and notebook[1] in "12345" and notebook[0] == "0" \
        else ("theory" if notebook.startswith("06") else notebook[:2])


# the numbers the appendix compares between random worlds (make report SEED_OFFSET=n): one per
# question's answer, printed in the format each notebook declared for it
HEADLINES = (("Q1 test MSE per pixel, $d=10$", "q1.test_mse_d10"),
             ("Q2 mean $|r|$ between code coordinates, $d=10$", "q2.value_by_d.10"),
             ("Q3 test accuracy, frozen encoder + MLP, 100 labels", "q3.frozen_acc_100"),
             ("Q3 test accuracy, whole network from scratch, 100 labels", "q3.scratch_acc_100"),
             ("Q4 MNIST-FID of the latent GAN", "q4.fid_gan"),
             ("Q4 MNIST-FID of the selected Gaussian mixture", "q4.fid_gmm_selected"),
             ("Q5 samples of the requested digit", "q5.cond_acc"),
             ("Q5 classification accuracy score", "q5.cas"))


def other_worlds(report_dir: Path, prov: dict) -> dict[int, dict]:
    """{seed offset: metrics} of the builds in other random worlds committed beside this report
    (none for a build that is itself in another world)."""
    if prov.get("seed_offset"):
        return {}
    worlds = {}
    for path in sorted(report_dir.glob("seed-offset-*/metrics.json")):
        other = json.loads(path.read_text())
        worlds[int(other.get("provenance", {}).get("seed_offset", path.parent.name.rsplit("-", 1)[-1]))] = other
    return worlds


def _headline(metrics: dict, path: str) -> str:
    from .prose import Numbers, ProseError

    section, *keys = path.split(".")
    try:
        node = Numbers(metrics[section], section, metrics[section].get("formats", {}))
        for key in keys:
            node = node[key]
        return str(node)
    except (KeyError, ProseError):
        return "n/a"


def worlds_table(metrics: dict, worlds: dict[int, dict]) -> str:
    """The headline numbers of this build beside those of the builds in other random worlds."""
    if not worlds:
        return ""
    header = "| number | this report | " + " | ".join(f"seed offset {o}" for o in worlds) + " |\n"
    header += "|:--|--:|" + "--:|" * len(worlds) + "\n"
    rows = "".join(f"| {label} | {_headline(metrics, path)} | "
                   + " | ".join(_headline(m, path) for m in worlds.values()) + " |\n" for label, path in HEADLINES)
    offsets = ", ".join(str(o) for o in worlds)
    commits = ", ".join(str(m.get("provenance", {}).get("commit", "?"))[:12] for m in worlds.values())
    return f"""
**The answers in another random world.** We built the whole report a second time with every training
and sampling seed shifted by {offsets} (new models, labelled subsets, pairs and samples; source version
{commits}). A build installs its numbers only when its text passes every claim check, so every
statement above holds in both builds; the headline numbers differ by the spread between random
worlds:

{header}{rows}"""


def appendix(prov: dict, metrics: dict | None = None, worlds: dict[int, dict] | None = None) -> str:
    runs = prov.get("notebook_runs") or {n: {"seconds": s, "commit": prov["commit"]}
                                          for n, s in prov["notebook_seconds"].items()}
    by_commit: dict[str, list[str]] = {}
    for name, run in runs.items():
        version = run["commit"][:12] + (", changed as in the commit that adds this report"
                                        if run["commit"].endswith("+uncommitted-changes") else "")
        by_commit.setdefault(version, []).append(f"{_section_name(name)} {run['seconds'] / 60:.1f}")
    versions = "; ".join(f"{commit} ({', '.join(parts)} min)" for commit, parts in by_commit.items())
    cache = prov.get("cache", {})
    minutes = sum(r["seconds"] for r in runs.values()) / 60
    return f"""# Appendix: how this report was built

Every number in this report was computed by the notebooks' runs listed here, and the same values
are stored beside the report in machine-readable form. A notebook is executed again only when its
code, the library code it imports, the data or the package versions changed; otherwise the build
keeps its last run. These runs trained {cache.get('trained', 'n/a')} models and loaded
{cache.get('loaded_from_earlier_runs', 'n/a')} that the same training code had trained and stored
before (a stored model is reused only if its settings and training code are unchanged). The minutes
below also count what is trained in every run and never stored: Q3's heads and networks on few
labels, the classifier behind Q5's classification accuracy score, and every evaluation.

| item | value |
|:--|:------------|
| notebooks run by source version | {versions} |
| device | {prov['device']} |
| software | PyTorch {prov['torch']}, Python {prov['python']} |
| report exported (UTC) | {prov['built'].replace('T', ' ')} |
| minutes of computation | {minutes:.1f} in all |
""" + worlds_table(metrics or {}, worlds or {})


def _latex_tools() -> str | None:
    missing = [t for t in ("xelatex", "pandoc") if shutil.which(t) is None]
    return f"{' and '.join(missing)} not found" if missing else None


_FIGURE = re.compile(r"\\begin\{center\}\s*\\adjustimage\{(?P<size>[^\n]*?)\}\{(?P<file>[^{}]+)\}\s*"
                     r"\\end\{center\}\s*\{ \\hspace\*\{\\fill\} \\\\\}\s*"
                     r"(?P<caption>\\textbf\{Figure [0-9.]+\}.*?)\n\s*\n", re.S)
_TABLE = re.compile(r"(?P<caption>\\textbf\{Table [0-9.]+\}.*?)\n\s*\n\s*"
                    r"\\begin\{longtable\}\[\]\{(?P<spec>.*?)\}\n(?P<body>.*?)\\end\{longtable\}", re.S)
_LISTING = re.compile(r"(?P<caption>\\textbf\{Listing [0-9.]+\}.*?)\n\s*\n\s*(?P<code>\\begin\{Shaded\}.*?\\end\{Shaded\})", re.S)
_ANY_TABLE = re.compile(r"\\begin\{longtable\}\[\]\{(?P<spec>.*?)\}\n(?P<body>.*?)\\end\{longtable\}", re.S)


def _tabular(spec: str, body: str) -> str:
    """A pandoc longtable as a plain tabular, which cannot break across pages."""
    body = re.sub(r"\\endfirsthead.*?\\endhead\n", "", body, flags=re.S)
    body = body.replace("\\endhead\n", "")
    foot = re.search(r"\\bottomrule(\\noalign\{\})?\n\\endlastfoot\n", body)
    if foot:
        body = body.replace(foot.group(0), "") + "\\bottomrule\n"
    return f"\\begin{{tabular}}{{{spec}}}\n{body}\\end{{tabular}}"


def _postprocess_tex(tex: str, prov: dict) -> str:
    # glyphs the font lacks become math in the body (the preamble's \newunicodechar map, from the
    # ex3 template, keeps its literal glyphs)
    preamble, marker, body = tex.partition(r"\begin{document}")
    if not marker:
        preamble, body = "", tex
    for glyph, command in TEX_GLYPHS.items():
        body = body.replace(glyph, command)
    tex = preamble + marker + body
    tex = tex.replace(r"\begin{document}",
                      "\\date{" + prov["built"][:10] + "}\n\\setcounter{secnumdepth}{2}\n"
                      "\\usepackage{float}\n\\geometry{margin=2cm}\n"
                      # a page of floats stacks them from the top instead of spreading them over the page
                      "\\makeatletter\\setlength{\\@fptop}{0pt}\\setlength{\\@fpsep}{18pt plus 6pt}"
                      "\\setlength{\\@fpbot}{0pt plus 1fil}\\makeatother\n"
                      # a page of floats only when they fill most of it; otherwise they join the text
                      "\\renewcommand{\\floatpagefraction}{0.8}\\renewcommand{\\topfraction}{0.85}"
                      "\\renewcommand{\\textfraction}{0.1}\n\\begin{document}", 1)
    tex = tex.replace("\\documentclass[11pt]{article}", "\\documentclass[10pt]{article}", 1)
    tex = re.sub(r"\\maketitle", lambda _: "\\maketitle\n\\thispagestyle{empty}", tex, count=1)
    # every figure with its caption in one float; every table with its caption, unbroken
    tex = _FIGURE.sub(lambda m: ("\\begin{figure}[!htbp]\n\\centering\n\\adjustimage{" + m["size"] + "}{"
                                 + m["file"] + "}\n\n{\\small " + m["caption"].strip() + "\\par}\n\\end{figure}\n\n"), tex)
    tex = _TABLE.sub(lambda m: ("\\begin{table}[H]\n{\\small " + m["caption"].strip() + "\\par}\n\\smallskip\n"
                                "\\centering\\small\n" + _tabular(m["spec"], m["body"]) + "\n\\end{table}"), tex)
    # every code listing with its caption, unbroken (none is longer than a third of a page)
    tex = _LISTING.sub(lambda m: ("\\par\\noindent\\begin{minipage}{\\linewidth}\n" + m["caption"].strip()
                                  + "\\par\\smallskip\n" + m["code"] + "\n\\end{minipage}\\par\\medskip\n"), tex)
    tex = _ANY_TABLE.sub(lambda m: ("\\begin{center}\\small\n" + _tabular(m["spec"], m["body"]) + "\n\\end{center}"), tex)
    # the front page is not numbered, so that question n is section n (figures n.1, n.2, ...)
    tex = tex.replace("\\section{Answers at a glance}", "\\section*{Answers at a glance}", 1)
    # the appendix follows the assignment part on the same page; the label marks where the part ends
    tex = re.sub(r"(\\section\{Appendix)", lambda m: "\\label{assignmentend}\n" + m[1], tex, count=1)
    return tex


def page_counts(build_dir: Path) -> dict:
    """Pages of the PDF in all, and up to the end of the assignment part (where the appendix starts)."""
    log = (build_dir / "ex3.log").read_text(errors="replace")
    total = re.search(r"Output written on ex3\.pdf \((\d+) pages?", log)
    aux = (build_dir / "ex3.aux").read_text(errors="replace") if (build_dir / "ex3.aux").exists() else ""
    end = re.search(r"\\newlabel\{assignmentend\}\{\{[^}]*\}\{(\d+)\}", aux)
    counts = {"pages_total": int(total.group(1)) if total else None}
    counts["pages_assignment"] = int(end.group(1)) if end else counts["pages_total"]
    return counts


def export(merged: nbformat.NotebookNode, report_dir: Path, prov: dict, log=print) -> Path:
    """ex3.pdf via LaTeX, or ex3.html when the LaTeX tools are missing; the text's placeholders are
    filled from ``report_dir/metrics.json`` and its claims checked (:mod:`tools.prose`)."""
    prose = FillProse(metrics_path=str(report_dir / "metrics.json"))
    build_dir = report_dir / "_build"
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    nbformat.write(merged, build_dir / "ex3.ipynb")
    problem = _latex_tools()
    if problem:
        from nbconvert import HTMLExporter

        exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
        exporter.register_preprocessor(CleanOutputs(), enabled=True)
        exporter.register_preprocessor(prose, enabled=True)
        body, _ = exporter.from_notebook_node(merged)
        out = report_dir / "ex3.html"
        out.write_text(body)
        log(f"NOTE: no PDF ({problem}; `make latex` installs them as root). Wrote {out} instead.")
        return out
    from nbconvert import LatexExporter

    exporter = LatexExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                             template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES)])
    exporter.register_preprocessor(CleanOutputs(), enabled=True)
    exporter.register_preprocessor(prose, enabled=True)
    body, resources = exporter.from_notebook_node(merged)
    for name, data in resources.get("outputs", {}).items():
        (build_dir / name).write_bytes(data)
    (build_dir / "ex3.tex").write_text(_postprocess_tex(body, prov))
    for _ in range(2):  # the second pass fills in the table of contents
        run = subprocess.run(["xelatex", "-interaction=nonstopmode", "-halt-on-error", "ex3.tex"],
                             cwd=build_dir, capture_output=True, text=True)
        if run.returncode != 0:
            tail = "\n".join(run.stdout.splitlines()[-25:])
            raise BuildError(f"xelatex failed; see {build_dir / 'ex3.log'}\n{tail}")
    missing = sorted(set(re.findall(r"Missing character: There is no (\S+)",
                                    (build_dir / "ex3.log").read_text(errors="replace"))))
    if missing:
        log(f"WARNING: the PDF font lacks {' '.join(missing)}; add them to TEX_GLYPHS in tools/export.py")
    out = report_dir / "ex3.pdf"
    shutil.copyfile(build_dir / "ex3.pdf", out)
    return out


@contextlib.contextmanager
def build_lock(lock_path: Path):
    """Hold an exclusive lock on ``lock_path`` for the build, or fail naming the holder."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise BuildError(f"another build of this profile is running (process {holder}, lock "
                             f"{lock_path}); wait for it or stop it") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)


@contextlib.contextmanager
def _environ(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check_writable(*folders: Path) -> None:
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise BuildError(f"cannot write to {folder}: fix its permissions before building")


def install(staged: dict[str, Path], dest: dict[str, Path]) -> None:
    """Swap the staged report into place: executed notebooks, figures, metrics, summary, document."""
    report, figures = dest["report"], dest["figures"]
    for name in ("metrics.json", "summary.md", "ex3.pdf", "ex3.html"):
        src = staged["report"] / name
        if src.exists():
            os.replace(src, report / name)
        elif name.startswith("ex3.") and (report / name).exists():
            (report / name).unlink()  # a PDF build drops an older HTML fallback, and vice versa
    for sub in ("executed", "_build"):
        if (staged["report"] / sub).exists():
            shutil.rmtree(report / sub, ignore_errors=True)
            os.replace(staged["report"] / sub, report / sub)
    for old in figures.glob("*.png"):  # a figure no notebook produced any more must not linger
        old.unlink()
    for png in sorted(staged["figures"].glob("*.png")):
        os.replace(png, figures / png.name)


def build(profile_name: str, notebooks: list[Path] | None = None, execute_notebooks: bool = True,
          extras: bool = False, force: bool = False, log=print) -> Path:
    """Execute what changed (everything with ``force``; nothing with ``execute_notebooks=False``),
    export the document and install it with its numbers and figures; returns the document's path."""
    profile = get_profile(profile_name)
    placeholders = placeholder_problems(report_settings())
    if placeholders:
        log(f"WARNING: {placeholders[0]} ({len(placeholders)} placeholder fields in all); the report's first page "
            "prints them and `make submission` refuses them")
    dest = committed_dirs(profile)
    notebooks = notebooks or source_notebooks(extras=extras)
    if not notebooks:
        raise BuildError("no notebooks/NN_*.ipynb found")
    world = f"-seed-offset-{profile.seed_offset}" if profile.seed_offset else ""
    staging = report_root() / "runs" / f".build-{profile.name}{world}"
    _check_writable(dest["report"], dest["figures"], staging.parent, output_dirs(profile)["artifacts"])
    with build_lock(staging.parent / f".build-{profile.name}{world}.lock"):
        shutil.rmtree(staging, ignore_errors=True)
        with _environ(EX3_OUTPUT=str(staging)):
            dirs = output_dirs(profile)
            dirs["report"].mkdir(parents=True)
            dirs["figures"].mkdir(parents=True)
            out, prov = _build_into(profile, dirs, dest, notebooks, execute_notebooks, extras, force, log)
        install(dirs, dest)
        shutil.rmtree(staging, ignore_errors=True)
    out = dest["report"] / out.name
    runs = prov.get("notebook_runs", {})
    ran = [n for n, r in runs.items() if not r["reused"]]
    log(f"report: {out} ({len(ran)} notebooks executed, {len(runs) - len(ran)} reused; "
        f"{prov.get('build_seconds', prov['total_seconds']) / 60:.1f} min)")
    return out


def _build_into(profile, dirs: dict[str, Path], dest: dict[str, Path], notebooks: list[Path],
                execute_notebooks: bool, extras: bool, force: bool, log) -> tuple[Path, dict]:
    """Execute (or re-export) into the staging ``dirs``; the committed ``dest`` is only read."""
    start = time.perf_counter()
    metrics_path = dirs["report"] / "metrics.json"
    if execute_notebooks:
        # every value in metrics.json is recorded by this build's notebooks (or carried over with
        # the unchanged notebook that recorded it): a key an earlier version of a notebook wrote,
        # and this one no longer does, cannot survive
        runs = execute(notebooks, dirs, profile.name, committed=dest, force=force, log=log)
        executed = [dirs["executed"] / nb.name for nb in notebooks]
        prov = provenance(profile.name, runs, time.perf_counter() - start, extras=extras, seed_offset=profile.seed_offset)
        metrics = record_metrics(metrics_path, {"provenance": prov})
    else:  # re-export only: the notebooks the recorded run executed, with that run's provenance
        recorded = dest["report"] / "metrics.json"
        metrics = json.loads(recorded.read_text()) if recorded.exists() else {}
        prov = metrics.get("provenance")
        if not prov:
            raise BuildError("--no-execute needs the provenance recorded by an earlier build")
        missing = [n for n in sorted(prov["notebook_seconds"]) if not (dest["executed"] / n).exists()]
        if missing:
            raise BuildError(f"--no-execute, but no executed copies of {missing} in {dest['executed']}")
        shutil.copytree(dest["executed"], dirs["executed"])
        shutil.copy2(recorded, metrics_path)
        for png in dest["figures"].glob("*.png"):
            shutil.copy2(png, dirs["figures"] / png.name)
        executed = [dirs["executed"] / name for name in sorted(prov["notebook_seconds"])]
    # the front page: report/answers.md, or an answers.md beside the notebooks built (the build tests')
    front_page = next((p for p in (notebooks[0].parent / "answers.md", FRONT_PAGE) if p.exists()), None)
    front = front_page.read_text() if front_page else ""
    if set(re.findall(r"(?:\{\{|claim\(\s*[\"'])\s*([a-z]\w*)\.", front)) - set(metrics):
        front = ""  # a build of some notebooks only: no front page that cites sections it did not run
    try:
        out = export(merge(executed, appendix(prov, metrics, other_worlds(dest["report"], prov)), front),
                     dirs["report"], prov, log=log)
    except ProseError as err:
        raise BuildError(f"{err}\n  the executed notebooks and numbers of this run: {dirs['report']}") from None
    if out.suffix == ".pdf":
        metrics = record_metrics(metrics_path, {"report": page_counts(dirs["report"] / "_build")})
        log(f"pages: {metrics['report']['pages_total']} in all; the assignment part ends on page {metrics['report']['pages_assignment']}")
    front_text = Document(metrics, strict=False).render("front page", front) if front else ""
    (dirs["report"] / "summary.md").write_text(summary_markdown(metrics, front_text))
    return out, prov


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None, help="full (default, or $EX3_PROFILE) or smoke")
    parser.add_argument("--no-execute", action="store_true",
                        help="re-export the already executed notebooks only")
    parser.add_argument("--force", action="store_true",
                        help="execute every notebook, changed or not (make report FORCE=1)")
    parser.add_argument("--extras", action="store_true", default=extras_enabled(),
                        help=f"also run {', '.join(EXTRAS_NOTEBOOKS)} (default: $EX3_EXTRAS)")
    args = parser.parse_args(argv)
    try:
        build(args.profile or get_profile().name, execute_notebooks=not args.no_execute,
              extras=args.extras, force=args.force)
    except (BuildError, ValueError) as err:
        print(f"BUILD FAILED: {err}\n  the committed report is unchanged", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("BUILD INTERRUPTED: the committed report is unchanged; cached models are kept", file=sys.stderr)
        return 130
    except OSError as err:  # no space left, permission denied, ...
        print(f"BUILD FAILED: {err.strerror or err} ({err.filename or 'while writing'}); "
              "the committed report is unchanged", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
