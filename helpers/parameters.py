"""Checked notebook parameters.

A notebook's parameters cell sets plain values; papermill may replace them, and ``papermill -p``
hands lists and some numbers over as strings. The cell after the parameters cell checks them and
does nothing else: ``check_parameters(globals(), NAME=Param(...), ...)`` parses such strings,
refuses values that do not fit (naming the parameter, its value and what is allowed) and refuses
names that papermill injected but the notebook does not declare (a misspelt parameter would
otherwise be ignored and the run would use the defaults); then the profile is built from them and
:func:`require` refuses combinations the notebook cannot run (e.g. more cross-validation folds than
any label budget holds) — all before any data is loaded or anything is trained. Each bound is what
the notebook's code needs, so every value the check lets through runs to the end.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from numbers import Integral, Real


class ParameterError(ValueError):
    pass


# the largest seed a notebook accepts: seeds also seed numpy and scikit-learn (below 2**32), and a
# notebook trains with seed + 1, seed + 2, ... too
MAX_SEED = 2**31 - 1


def _number_text(value: float) -> str:
    """10000 -> "10,000", 1e-05 -> "1e-05"."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _literal(text: str):
    """A string from ``papermill -p`` as the Python value it spells ("nan" and "inf" as floats)."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError("cannot be read as a Python value") from None


@dataclass(frozen=True)
class Param:
    """What a parameter may be: ``kind`` is ``int``, ``float``, ``str``, ``"ints"`` or ``"floats"``
    (a non-empty list of distinct integers or numbers); ``low``/``high`` bound numbers (inclusive;
    every number must also be finite), ``choices`` bound strings; a list must hold each value in
    ``includes`` and at least ``min_items`` values; ``optional``: ``None`` is allowed (the
    profile's default). The bounds say what the notebook's code needs, so that every value the
    check lets through runs to the end."""

    kind: object
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    optional: bool = False
    includes: tuple = ()
    min_items: int = 1

    def describe(self) -> str:
        what = {int: "an integer", float: "a number", str: "a string", "ints": "a non-empty list of distinct integers",
                "floats": "a non-empty list of distinct numbers"}[self.kind]
        if self.choices:
            what = "one of " + ", ".join(repr(c) for c in self.choices)
        bounds = [f">= {_number_text(self.low)}" if self.low is not None else "",
                  f"<= {_number_text(self.high)}" if self.high is not None else ""]
        bounds = " and ".join(b for b in bounds if b)
        if bounds:
            what += f" ({'each ' if self.kind in ('ints', 'floats') else ''}{bounds})"
        if self.includes:
            what += ", including " + " and ".join(_number_text(v) for v in self.includes)
        if self.min_items > 1:
            what += f", at least {self.min_items} of them"
        return what + (", or None for the profile's default" if self.optional else "")

    def parse(self, value):
        if isinstance(value, str) and self.kind != str:
            value = _literal(value)
        if value is None:
            if self.optional:
                return None
            raise ValueError("is required")
        if self.kind in ("ints", "floats"):
            return self._list(value)
        if self.kind == str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise ValueError("is not allowed")
            return value
        return self._number(value, self.kind)

    def _list(self, value) -> list:
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError("is not a non-empty list")
        values = [self._number(v, int if self.kind == "ints" else float) for v in value]
        if len(set(values)) < len(values):
            raise ValueError("repeats a value")
        missing = [v for v in self.includes if v not in values]
        if missing:
            raise ValueError(f"lacks {' and '.join(_number_text(v) for v in missing)}")
        if len(values) < self.min_items:
            raise ValueError(f"has fewer than {self.min_items} values")
        return values

    def _number(self, value, kind):
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"{value!r} is not a number")
        if not isinstance(value, Integral) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        if kind is int:
            if not isinstance(value, Integral) and value != int(value):
                raise ValueError(f"{value!r} is not an integer")
            value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:
                raise ValueError(f"{value!r} is out of range") from None
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


def require(condition: bool, message: str) -> None:
    """Refuse a combination of parameters that each passed :func:`check_parameters` but that the
    notebook cannot run together (e.g. cross-validation folds no label budget can hold), before
    anything is trained: :class:`ParameterError` with ``message``, which names the parameters."""
    if not condition:
        raise ParameterError(message)
