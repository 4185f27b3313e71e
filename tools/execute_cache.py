"""The build's execute cache (in the spirit of Jupyter Book's execute cache and Quarto's freeze).

Each executed notebook carries, in ``metadata.ex3``, a fingerprint of everything that determined
its outputs: its code cells (the parameters cell included, markdown excluded), the profile, the
``helpers`` modules it imports (directly or through other helpers modules; compared as syntax
trees without docstrings, so a comment or docstring edit changes nothing), the data it can read
(digests of the decompressed MNIST and Fashion-MNIST files), and the versions of the packages
``requirements.txt`` names. It also lists the cached models the run loaded or trained, with the
SHA-256 of each file.

``make report`` re-executes a notebook only when its fingerprint differs from the one its
committed executed copy carries, or when a model that copy used now has other bytes; otherwise
the committed copy is reused, with the source notebook's markdown cells (a prose-only edit needs
no execution). A missing model file does not make a copy stale: the copy still holds what that
model computed, and re-executing would train the same weights again.
"""
from __future__ import annotations

import ast
import copy
import gzip
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from helpers.environment import PROJECT_ROOT

HELPERS = PROJECT_ROOT / "helpers"
REQUIREMENTS = PROJECT_ROOT / "requirements.txt"
METADATA_KEY = "ex3"
# the stderr lines helpers.checkpoints.cached_model prints for every model it hands out
_MODEL_LINE = re.compile(r"^cache: (loaded|trained and saved) (\S+\.pt)\s*$", re.M)
_RETRAIN_LINE = re.compile(r"ignoring cached checkpoint, retraining: ([^\n]+)")
DATA_FILES = {
    "MNIST": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte"),
}
DATA_FILES["FashionMNIST"] = DATA_FILES["MNIST"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def module_digest(path: Path) -> str:
    """SHA-256 of a module's syntax tree without docstrings: what it computes, not how it reads."""
    tree = _strip_docstrings(ast.parse(path.read_text(), filename=str(path)))
    return _sha256(ast.dump(tree, include_attributes=False).encode())[:16]


def _helpers_imported(tree: ast.AST, inside_helpers: bool) -> set[str]:
    """Names of the ``helpers`` modules an AST imports (``from helpers import x``,
    ``from helpers.x import y``, ``import helpers.x``; inside the package also ``from .x import y``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
            if any(a.name == "helpers" for a in node.names):
                found.add("__init__")
        elif isinstance(node, ast.ImportFrom):
            relative = inside_helpers and node.level == 1
            if node.module == "helpers" or (relative and node.module is None):
                found |= {a.name for a in node.names}
            elif node.module and node.module.startswith("helpers."):
                found.add(node.module.split(".")[1])
            elif relative and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if (HELPERS / f"{name}.py").exists()}


def helpers_closure(code: str) -> list[str]:
    """Every ``helpers`` module that ``code`` imports, directly or through other helpers modules."""
    todo = _helpers_imported(ast.parse(code), inside_helpers=False) | {"__init__"}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo |= _helpers_imported(ast.parse((HELPERS / f"{name}.py").read_text()), inside_helpers=True) - seen
    return sorted(seen)


def _decompressed_digest(raw_folders: list[Path], name: str) -> str | None:
    """SHA-256 of ``name`` as torchvision reads it: the extracted file, else its archive
    decompressed, from the first folder that has either (the digest is the same either way, so
    extracting the data changes nothing)."""
    for raw in raw_folders:
        if (raw / name).exists():
            return _sha256((raw / name).read_bytes())
        if (raw / f"{name}.gz").exists():
            with gzip.open(raw / f"{name}.gz") as f:
                return _sha256(f.read())
    return None


def data_digests(root: Path, datasets=tuple(DATA_FILES)) -> dict[str, str | None]:
    """``{"MNIST/train-images-idx3-ubyte": sha256 or None, ...}`` for ``datasets`` (folder names
    under ``root``; Fashion-MNIST also where Debian's package puts its archives, from which
    :mod:`helpers.data` extracts it)."""
    from helpers.data import DEBIAN_FASHION

    folders = {"MNIST": [Path(root) / "MNIST" / "raw"],
               "FashionMNIST": [Path(root) / "FashionMNIST" / "raw", DEBIAN_FASHION]}
    return {f"{folder}/{name}": _decompressed_digest(folders[folder], name)
            for folder in datasets for name in DATA_FILES[folder]}


def datasets_read(code: str) -> tuple[str, ...]:
    """The datasets a notebook's code reads: MNIST always (``notebook.setup``), Fashion-MNIST when
    it asks for it (``dataset="fashion"``)."""
    return ("MNIST", "FashionMNIST") if "fashion" in code.lower() else ("MNIST",)


# packages that only run the tests or the lab: their versions cannot change what a notebook computes
NOT_COMPUTING = {"pytest", "nbmake", "jupyterlab", "pypdf"}


def required_package_versions(requirements: Path = REQUIREMENTS) -> dict[str, str | None]:
    """The installed version of every package ``requirements.txt`` names that takes part in
    executing a notebook (None: not installed)."""
    from importlib import metadata

    names = [re.split(r"[<>=!~\[; ]", line.strip(), maxsplit=1)[0]
             for line in requirements.read_text().splitlines() if line.strip() and not line.startswith("#")]
    versions = {}
    for name in (n for n in names if n not in NOT_COMPUTING):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass(frozen=True)
class Fingerprint:
    """What determined a notebook's outputs: ``parts`` (readable, stored beside the digest so that a
    rebuild can say what changed) and their combined ``digest``."""

    parts: dict = field(hash=False)

    @property
    def digest(self) -> str:
        return _sha256(json.dumps(self.parts, sort_keys=True).encode())[:16]

    def changes_from(self, stored: dict) -> list[str]:
        """The parts that differ from a stored ``parts`` dict, as short phrases."""
        changed = []
        for key in sorted(set(self.parts) | set(stored)):
            new, old = self.parts.get(key), stored.get(key)
            if new == old:
                continue
            if isinstance(new, dict) and isinstance(old, dict):
                names = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
                changed.append(f"{key} ({', '.join(names[:4])}{', ...' if len(names) > 4 else ''})")
            else:
                changed.append(key)
        return changed


def _injected(cell) -> bool:
    """Whether papermill injected ``cell`` (the run's parameters)."""
    return "injected-parameters" in cell.get("metadata", {}).get("tags", [])


def _ran_code(nb: nbformat.NotebookNode) -> list:
    """A notebook's own code cells, without the cell papermill injects."""
    return [c for c in nb.cells if c.cell_type == "code" and not _injected(c)]


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The sources of a notebook's code cells, without the cell papermill injects."""
    return [c.source for c in _ran_code(nb)]


def fingerprint(source: Path, profile: str, data_root: Path, upstream: dict | None = None,
                packages: dict | None = None, data: dict | None = None) -> Fingerprint:
    """The fingerprint of running ``source`` in ``profile``. ``upstream``: for a notebook that reads
    other sections' recorded numbers (``report.read_metrics``), {section: digest of its numbers}.
    ``packages``/``data``: precomputed :func:`required_package_versions`/:func:`data_digests` of
    every dataset (the notebook's own are picked from them)."""
    nb = nbformat.read(source, as_version=4)
    code = code_cells(nb)
    modules = helpers_closure("\n".join(_python_only(c) for c in code))
    read = datasets_read("\n".join(code))
    data = data if data is not None else data_digests(data_root, read)
    return Fingerprint({
        "code cells": _sha256("\0".join(code).encode())[:16],
        "profile": profile,
        "helpers": {f"{m}.py": module_digest(HELPERS / f"{m}.py") for m in modules},
        "data": {k: v for k, v in data.items() if k.split("/")[0] in read},
        "packages": packages if packages is not None else required_package_versions(),
        "reads the numbers of": dict(upstream or {}),
    })


def sections_digest(metrics: dict) -> dict[str, str]:
    """{section: digest of its recorded numbers}, for a notebook that reads them."""
    return {key: _sha256(json.dumps(value, sort_keys=True).encode())[:16]
            for key, value in sorted(metrics.items()) if key not in ("provenance", "report")}


def _python_only(source: str) -> str:
    """A cell's source without IPython magics and shell escapes, which ``ast`` cannot parse."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def reads_other_sections(source: Path) -> bool:
    return "read_metrics(" in "\n".join(code_cells(nbformat.read(source, as_version=4)))


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stderr(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def models_used(nb: nbformat.NotebookNode) -> dict[str, str]:
    """{checkpoint file name: "loaded" or "trained"} from an executed notebook's stderr."""
    used: dict[str, str] = {}
    for how, name in _MODEL_LINE.findall(_stderr(nb)):
        used.setdefault(name, "trained" if how.startswith("trained") else "loaded")
    return used


def retrained_stale(nb: nbformat.NotebookNode) -> list[str]:
    """The reasons a cached checkpoint was refused and retrained, from an executed notebook."""
    return _RETRAIN_LINE.findall(_stderr(nb))


def stamp(nb: nbformat.NotebookNode, fp: Fingerprint, artifacts: Path, run: dict,
          metrics_keys: list[str], figures: list[str]) -> None:
    """Record in ``nb.metadata.ex3`` what the run depended on (fingerprint, models with their file
    digests) and produced (its metrics keys and figure files), with ``run``: seconds, commit,
    device, and how many models it trained and loaded."""
    used = models_used(nb)
    models = {name: file_digest(Path(artifacts) / name) for name in sorted(used)
              if (Path(artifacts) / name).exists()}
    nb.metadata[METADATA_KEY] = {"fingerprint": fp.digest, "parts": fp.parts, "models": models,
                                 "trained": sum(v == "trained" for v in used.values()),
                                 "loaded": sum(v == "loaded" for v in used.values()),
                                 **run, "metrics_keys": sorted(metrics_keys), "figures": sorted(figures)}


def stored(executed: Path) -> dict | None:
    """The ``metadata.ex3`` of an executed copy, or None (no copy, or one from before the cache)."""
    try:
        meta = nbformat.read(executed, as_version=4).metadata.get(METADATA_KEY)
    except (OSError, ValueError, AttributeError, KeyError):  # no copy, or not a notebook
        return None
    return dict(meta) if meta and "fingerprint" in meta else None


def why_stale(executed: Path, fp: Fingerprint, artifacts: Path, figures: Path | None = None,
              metrics: dict | None = None) -> str | None:
    """None when the executed copy at ``executed`` still holds what running its source would give
    (and, when ``figures``/``metrics`` are given, its figure files and recorded numbers are there to
    reuse); else the reason to execute again."""
    meta = stored(executed)
    if meta is None:
        return "no executed copy with a fingerprint"
    if meta["fingerprint"] != fp.digest:
        return "changed: " + ("; ".join(fp.changes_from(meta.get("parts", {}))) or "the fingerprint")
    if figures is not None:
        lost = [name for name in meta.get("figures", []) if not (Path(figures) / name).exists()]
        if lost:
            return f"its figure {lost[0]} is missing"
    if metrics is not None:
        lost = [key for key in meta.get("metrics_keys", []) if key not in metrics]
        if lost:
            return f"its numbers ({lost[0]}) are missing from metrics.json"
    for name, digest in meta.get("models", {}).items():
        path = Path(artifacts) / name
        if path.exists() and file_digest(path) != digest:
            return f"the cached model {name} has changed since the copy was executed"
    return None


def with_source_prose(source: nbformat.NotebookNode, executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed copy with the source notebook's cells around its code: markdown cells (and
    cell tags) from ``source``, code cells with their outputs from ``executed``. The fingerprint
    guarantees that the code cells are the same, in the same order."""
    runs = _ran_code(executed)
    if len(runs) != len(code_cells(source)):
        raise ValueError("the executed copy's code cells do not match the source notebook's")
    injected = [c for c in executed.cells if _injected(c)]
    executed_prose = {c.get("id"): c for c in executed.cells if c.cell_type != "code" and c.get("id")}
    cells, runs = [], iter(runs)
    for cell in source.cells:
        if cell.cell_type == "code":  # the run: source and outputs
            new = copy.deepcopy(next(runs))
        else:  # the source's words; the run's metadata when the cell was there
            new = copy.deepcopy(executed_prose.get(cell.get("id"), cell))
            new.source = cell.source
        new.metadata["tags"] = list(cell.get("metadata", {}).get("tags", []))
        cells.append(new)
        if "parameters" in new.metadata["tags"]:
            cells += copy.deepcopy(injected)
    return nbformat.from_dict({**{k: copy.deepcopy(v) for k, v in executed.items() if k != "cells"}, "cells": cells})
