"""The fingerprint of the code a cached model's training runs (helpers.codehash): what changes it and
what does not, on small packages written here."""
import importlib
import itertools
import textwrap

import pytest

from helpers.codehash import code_fingerprint

_names = itertools.count()

BASE = {
    "__init__.py": '"""A package."""\n',
    "losses.py": '''
        """Losses."""
        WEIGHT = 0.5
        SHIFT = (1, 2)


        def penalty(x):
            """How far from zero."""
            return WEIGHT * x ** 2  # squared


        def unused(x):
            return x + 1
        ''',
    "layers.py": '''
        def scale(x):
            return 2 * x


        def offset(x):
            return x + 1


        class Net:
            """A network."""

            def __init__(self, k: int = 3):
                self.k = k

            def forward(self, x):
                return scale(x) * self.k
        ''',
    "train.py": '''
        """Training."""
        from . import layers
        from .losses import penalty as loss_fn


        def helper(x):
            from .losses import SHIFT

            return x + SHIFT[0]


        def fit(net, x):
            """Fit."""
            return loss_fn(helper(x)) + layers.offset(x) + net.forward(x)
        ''',
}
BASE = {module: textwrap.dedent(source) for module, source in BASE.items()}


def _package(tmp_path, monkeypatch, **changes):
    """A fresh copy of BASE (a module given as None is left out) under a new name, imported."""
    name = f"fp_pkg_{next(_names)}"
    root = tmp_path / name
    root.mkdir()
    for module, source in {**BASE, **changes}.items():
        if source is not None:
            (root / module).write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return name


def _fingerprint(tmp_path, monkeypatch, **changes):
    name = _package(tmp_path, monkeypatch, **changes)
    train, layers = importlib.import_module(f"{name}.train"), importlib.import_module(f"{name}.layers")
    return code_fingerprint(train.fit, layers.Net)


def _edit(module: str, old: str, new: str) -> dict:
    assert old in BASE[module]
    return {module: BASE[module].replace(old, new)}


@pytest.fixture
def base(tmp_path, monkeypatch):
    return _fingerprint(tmp_path, monkeypatch)


def test_what_the_entry_points_reach_and_only_that(base):
    assert [name for name, _ in base.parts] == ["Net", "SHIFT", "WEIGHT", "fit", "helper", "offset", "penalty", "scale"]


def test_docstrings_comments_and_formatting_do_not_count(tmp_path, monkeypatch, base):
    edited = {**_edit("losses.py", '"""How far from zero."""', '"""The square, weighted."""\n    # a comment'),
              **_edit("layers.py", '"""A network."""', '"""Another docstring."""'),
              "train.py": BASE["train.py"].replace('"""Fit."""', "").replace("+ layers.offset(x)", "+  layers.offset( x )")}
    edited["losses.py"] = edited["losses.py"].replace("WEIGHT * x ** 2  # squared", "WEIGHT*x**2")
    assert _fingerprint(tmp_path, monkeypatch, **edited) == base


def test_a_changed_loss_changes_it_and_names_what_changed(tmp_path, monkeypatch, base):
    changed = _fingerprint(tmp_path, monkeypatch, **_edit("losses.py", "WEIGHT * x ** 2", "WEIGHT * abs(x)"))
    assert changed.digest != base.digest and changed.changes_from(base.parts) == ["penalty"]


def test_constants_enter_by_value(tmp_path, monkeypatch, base):
    changed = _fingerprint(tmp_path, monkeypatch, **_edit("losses.py", "WEIGHT = 0.5", "WEIGHT = 0.25"))
    assert changed.digest != base.digest and changed.changes_from(base.parts) == ["WEIGHT"]
    assert _fingerprint(tmp_path, monkeypatch, **_edit("losses.py", "WEIGHT = 0.5", "WEIGHT = 5e-1")) == base
    # a constant imported inside a function
    assert _fingerprint(tmp_path, monkeypatch, **_edit("losses.py", "SHIFT = (1, 2)", "SHIFT = (2, 2)")) != base


def test_a_function_the_training_does_not_run_does_not_count(tmp_path, monkeypatch, base):
    assert _fingerprint(tmp_path, monkeypatch, **_edit("losses.py", "return x + 1", "return x - 1")) == base


def test_attribute_access_on_an_imported_module_and_methods_count(tmp_path, monkeypatch, base):
    assert _fingerprint(tmp_path, monkeypatch, **_edit("layers.py", "return x + 1", "return x + 2")) != base
    assert _fingerprint(tmp_path, monkeypatch, **_edit("layers.py", "return 2 * x", "return 3 * x")) != base
    assert _fingerprint(tmp_path, monkeypatch, **_edit("layers.py", "* self.k", "+ self.k")) != base


def test_moving_an_unchanged_function_to_another_module_keeps_it(tmp_path, monkeypatch, base):
    """penalty and the constants move to penalties.py; the imports naming them, one of them inside a
    function, change with them."""
    moved = {
        "losses.py": "def unused(x):\n    return x + 1\n",
        "penalties.py": '''
            WEIGHT = 0.5
            SHIFT = (1, 2)


            def penalty(x):
                """How far from zero."""
                return WEIGHT * x ** 2
            ''',
        "train.py": BASE["train.py"].replace("from .losses import penalty as loss_fn",
                                             "from .penalties import penalty as loss_fn")
                                    .replace("from .losses import SHIFT", "from .penalties import SHIFT"),
    }
    assert _fingerprint(tmp_path, monkeypatch, **moved) == base


def test_a_monkeypatched_function_does_not_change_it(tmp_path, monkeypatch, base):
    name = _package(tmp_path, monkeypatch)
    train, layers = importlib.import_module(f"{name}.train"), importlib.import_module(f"{name}.layers")
    monkeypatch.setattr(train, "loss_fn", lambda x: 0)
    monkeypatch.setattr(layers, "scale", lambda x: 0)
    assert code_fingerprint(train.fit, layers.Net) == base
