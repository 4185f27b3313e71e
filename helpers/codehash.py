"""Which code a cached model's weights depend on: a fingerprint of the functions and classes its
training runs. Editing any of them retrains the model; editing anything else (a docstring, a
comment, the formatting, a function it never calls) retrains nothing.

From each entry point (e.g. a spec class and the function that trains it) the walk follows,
transitively, every name the source refers to that resolves to a function or class defined in the
same package: through the module's own top-level definitions, its imports (``from .x import y``,
``from . import x`` then ``x.y``), and imports inside a function. A simple module-level constant
it refers to (a number, string, tuple, dict of such, ...) enters by value. Each function or class
enters as its own name and its syntax tree without docstrings and without the package's own import
statements: comments, formatting and docstrings do not count, and moving an unchanged function to
another module keeps the fingerprint. Names are resolved from the source files, not at run time,
so a function a test monkeypatches does not change it.

Not followed: a method reached only through an attribute of an object (``model.encoder(x)``)
unless the object's class is named somewhere on the way (a type annotation counts), code outside
the package (torch), and module-level statements other than definitions, assignments and imports.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class CodeFingerprint:
    """``digest``: a short SHA-256 over ``parts``, the sorted ``(name, digest of its normalised
    source or value)`` of every function, class and constant the entry points reach."""

    digest: str
    parts: tuple[tuple[str, str], ...]

    def changes_from(self, parts) -> list[str]:
        """The names whose code differs between stored ``parts`` (pairs) and these."""
        old, new = {tuple(p) for p in parts or ()}, set(self.parts)
        return sorted({name for name, _ in old ^ new})


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class _Module:
    """A module's top-level definitions, constant assignments and imports, parsed from its file."""

    def __init__(self, name: str):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            raise ValueError(f"no Python source for module {name}")
        self.name = name
        self.package = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
        self.tree = ast.parse(Path(spec.origin).read_text(), filename=spec.origin)
        self.defs: dict[str, ast.AST] = {}
        self.assigns: dict[str, list[ast.AST]] = {}
        self.imports: dict[str, tuple] = {}
        self._index(self.tree.body)

    def _index(self, body) -> None:
        for node in body:
            if isinstance(node, _DEFS):
                self.defs[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.assigns.setdefault(target.id, []).append(node.value)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self.imports.update(import_aliases(node, self.package))
            elif isinstance(node, (ast.If, ast.Try)):
                for block in ("body", "orelse", "finalbody"):
                    self._index(getattr(node, block, []))
                for handler in getattr(node, "handlers", []):
                    self._index(handler.body)


def import_aliases(node: ast.Import | ast.ImportFrom, package: str) -> dict[str, tuple]:
    """``{local name: ("module", name) or ("from", module, name)}`` for one import statement."""
    if isinstance(node, ast.Import):
        return {a.asname or a.name.split(".")[0]: ("module", a.name if a.asname else a.name.split(".")[0])
                for a in node.names}
    module = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
        else node.module
    return {a.asname or a.name: ("from", module, a.name) for a in node.names if a.name != "*"}


def _serialise(node) -> str:
    """A syntax tree as text without positions, contexts or empty fields: the same for the same
    code in every Python version that parses it alike."""
    if isinstance(node, ast.AST):
        fields = []
        for name, value in ast.iter_fields(node):
            if name in ("ctx", "kind", "type_comment") or value is None or value == []:
                continue
            fields.append(f"{name}={_serialise(value)}")
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_serialise(v) for v in node) + "]"
    return repr(node)


class _Normalise(ast.NodeTransformer):
    """Drops docstrings and the imports of the package's own modules (what they import enters the
    fingerprint as the definition it resolves to, wherever that lives)."""

    def __init__(self, package: str, module_package: str):
        self.package, self.module_package = package, module_package

    def _body(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        node.body = body or [ast.Pass()]
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _body

    def visit_Import(self, node):
        return self._drop_own(node)

    def visit_ImportFrom(self, node):
        return self._drop_own(node)

    def _drop_own(self, node):
        targets = import_aliases(node, self.module_package).values()
        if all(_in_package(t[1], self.package) for t in targets):
            return None
        return node


class _Walk:
    def __init__(self, package: str):
        self.package = package
        self.modules: dict[str, _Module] = {}
        self.seen: set[tuple] = set()
        self.parts: set[tuple[str, str]] = set()

    def module(self, name: str) -> _Module:
        if name not in self.modules:
            self.modules[name] = _Module(name)
        return self.modules[name]

    def is_module(self, name: str) -> bool:
        try:
            return _in_package(name, self.package) and importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            return False

    def resolve_import(self, target: tuple, depth: int = 0):
        """("def", module, name) / ("const", module, name) / ("module", name) / None (outside)."""
        if depth > 50:
            raise RecursionError(f"import cycle resolving {target}")
        if target[0] == "module":
            return target if _in_package(target[1], self.package) else None
        _, module, name = target
        if not _in_package(module, self.package):
            return None
        found = self.lookup(module, name, depth + 1)
        if found is None and self.is_module(f"{module}.{name}"):  # from . import x: the module x
            return ("module", f"{module}.{name}")
        return found

    def lookup(self, module: str, name: str, depth: int = 0, local: dict | None = None):
        if local and name in local:
            return self.resolve_import(local[name], depth)
        m = self.module(module)
        if name in m.defs:
            return ("def", module, name)
        if name in m.assigns:
            return ("const", module, name)
        if name in m.imports:
            return self.resolve_import(m.imports[name], depth)
        return None

    def add(self, item) -> None:
        if item is None or item[0] == "module" or item in self.seen:
            return
        self.seen.add(item)
        kind, module, name = item
        m = self.module(module)
        if kind == "const":  # a literal by its value as parsed, another expression by its code
            values = m.assigns[name]
            for value in values:
                self.follow(value, m)
            self.parts.add((name, _sha("=" + "".join(_serialise(v) for v in values))))
            return
        node = m.defs[name.split(".")[0]]
        for attr in name.split(".")[1:]:  # a method given as entry point
            node = next(n for n in node.body if isinstance(n, _DEFS) and n.name == attr)
        self.follow(node, m)
        clean = _Normalise(self.package, m.package).visit(copy.deepcopy(node))
        self.parts.add((name, _sha(_serialise(clean))))

    def follow(self, node: ast.AST, m: _Module) -> None:
        local: dict[str, tuple] = {}
        for sub in ast.walk(node):
            if isinstance(sub, (ast.Import, ast.ImportFrom)):
                local.update(import_aliases(sub, m.package))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                self.add(self.lookup(m.name, sub.id, local=local))
            elif isinstance(sub, ast.Attribute):
                self.add(self.attribute(sub, m, local))

    def attribute(self, node: ast.Attribute, m: _Module, local: dict):
        """``x.y.z`` where ``x`` (then ``x.y``) is one of the package's modules: what ``z`` is there."""
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        found = self.lookup(m.name, node.id, local=local)
        for attr in reversed(chain):
            if not found or found[0] != "module":
                return None
            found = self.resolve_import(("from", found[1], attr))
        return found


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def code_fingerprint(*entry_points) -> CodeFingerprint:
    """The fingerprint of the code ``entry_points`` (module-level functions or classes, or methods
    of such classes) run, within the package the first of them belongs to."""
    if not entry_points:
        raise ValueError("name at least one entry point")
    package = entry_points[0].__module__.split(".")[0]
    walk = _Walk(package)
    for obj in entry_points:
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
        if not module or not _in_package(module, package):
            raise ValueError(f"{obj!r} is not defined in the package {package}")
        if "<locals>" in qualname or qualname.split(".")[0] not in walk.module(module).defs:
            raise ValueError(f"{module}.{qualname}: an entry point must be a module-level function or class, "
                             "or a method of such a class")
        walk.add(("def", module, qualname))
    parts = tuple(sorted(walk.parts))
    digest = _sha("".join(f"{name}\t{h}\n" for name, h in parts))
    return CodeFingerprint(digest, parts)
