"""Checked notebook parameters.

A notebook's parameters cell sets plain values; papermill may replace them, and ``papermill -p``
hands lists and some numbers over as strings. The first line after the parameters cell,
``check_parameters(globals(), NAME=Param(...), ...)``, parses such strings, refuses values that
do not fit (naming the parameter, its value and what is allowed) and refuses names that papermill
injected but the notebook does not declare (a misspelt parameter would otherwise be ignored and
the run would use the defaults) — all before anything is trained.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from numbers import Real


class ParameterError(ValueError):
    pass


@dataclass(frozen=True)
class Param:
    """What a parameter may be: ``kind`` is ``int``, ``float``, ``str``, ``"ints"`` or ``"floats"``
    (a non-empty list of integers or numbers); ``low``/``high`` bound numbers (inclusive), ``choices`` bound strings;
    ``optional``: ``None`` is allowed (the profile's default)."""

    kind: object
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    optional: bool = False

    def describe(self) -> str:
        what = {int: "an integer", float: "a number", str: "a string", "ints": "a non-empty list of integers",
                "floats": "a non-empty list of numbers"}[self.kind]
        if self.choices:
            what = "one of " + ", ".join(repr(c) for c in self.choices)
        bounds = [f">= {self.low:g}" if self.low is not None else "", f"<= {self.high:g}" if self.high is not None else ""]
        bounds = " and ".join(b for b in bounds if b)
        if bounds:
            what += f" ({'each ' if self.kind in ('ints', 'floats') else ''}{bounds})"
        return what + (", or None for the profile's default" if self.optional else "")

    def parse(self, value):
        if isinstance(value, str) and self.kind != str:
            try:
                value = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                raise ValueError("cannot be read as a Python value") from None
        if value is None:
            if self.optional:
                return None
            raise ValueError("is required")
        if self.kind in ("ints", "floats"):
            if not isinstance(value, (list, tuple)) or not value:
                raise ValueError("is not a non-empty list")
            return [self._number(v, int if self.kind == "ints" else float) for v in value]
        if self.kind == str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ValueError("is not allowed")
            return value
        return self._number(value, self.kind)

    def _number(self, value, kind):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"{value!r} is not a number")
        if kind is int:
            if float(value) != int(value):
                raise ValueError(f"{value!r} is not an integer")
            value = int(value)
        else:
            value = float(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{value!r} is out of range")
        return value


def injected_names(namespace: dict) -> list[str]:
    """Names assigned by papermill's injected-parameters cell(s), read from IPython's input
    history ``In`` (papermill starts that cell with the comment ``# Parameters``)."""
    names = []
    for source in namespace.get("In", []) or []:
        if not isinstance(source, str) or not source.lstrip().startswith("# Parameters"):
            continue
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def check_parameters(namespace: dict, **schema: Param) -> dict:
    """Parse and check every parameter in ``schema`` in ``namespace`` (a notebook's ``globals()``),
    write the parsed values back, and return them. Raises :class:`ParameterError` for a bad value
    or for an injected name that is not a parameter of this notebook."""
    unknown = sorted(set(injected_names(namespace)) - set(schema))
    if unknown:
        raise ParameterError(f"unknown parameter {', '.join(unknown)}; this notebook's parameters are "
                             f"{', '.join(schema)}")
    parsed = {}
    for name, spec in schema.items():
        if name not in namespace:
            raise ParameterError(f"parameter {name} is missing from the parameters cell")
        try:
            parsed[name] = spec.parse(namespace[name])
        except ValueError as err:
            raise ParameterError(f"parameter {name}={namespace[name]!r} {err}: it must be {spec.describe()}") from None
    namespace.update(parsed)
    return parsed
