"""The helpers modules import each other as a DAG: no circle, even through an import inside a
function, and leaf modules for the environment (paths, variables) and for seeding."""
import ast
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
MODULES = sorted(p.stem for p in HELPERS.glob("*.py") if p.stem != "__init__")


def imported(module: str, folder: Path = HELPERS) -> set[str]:
    """The helpers modules ``module`` imports anywhere in its source (a function's imports too)."""
    tree = ast.parse((folder / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 or node.module == "helpers" or (node.module or "").startswith("helpers."):
                base = node.module.removeprefix("helpers").lstrip(".") if node.level == 0 else (node.module or "")
                if base:
                    found.add(base.split(".")[0])
                else:  # from . import x / from helpers import x: x may be a module
                    found |= {a.name for a in node.names if a.name in MODULES}
            elif node.level > 1:
                raise AssertionError(f"{module}: an import from above the package")
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
    return found - {"__init__"}


def graph() -> dict[str, set[str]]:
    return {m: imported(m) for m in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (the first repeated at the end), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(edges):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_circle_and_names_it():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_every_form_of_import_counts_a_functions_too(tmp_path):
    (tmp_path / "m.py").write_text("from .models import mlp\nimport helpers.metrics\nfrom helpers.data import x\n"
                                   "from . import zoo, not_a_module\nfrom helpers import gan\n\n"
                                   "def f():\n    from .specs import AutoencoderSpec\n    import torch\n")
    assert imported("m", tmp_path) == {"models", "metrics", "data", "zoo", "gan", "specs"}


def test_no_import_circle_among_the_helpers_modules():
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


@pytest.mark.parametrize("leaf", ["environment", "seeding", "codehash", "models", "metrics"])
def test_leaf_modules_import_no_other_helpers_module(leaf):
    assert imported(leaf) == set()


def test_data_and_checkpoints_need_neither_the_profiles_nor_the_training_loops():
    assert not imported("data") & {"profiles", "training", "specs"}
    assert not imported("checkpoints") & {"profiles", "training", "specs"}
