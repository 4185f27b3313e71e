"""The fingerprint of the code a cached model's training runs (helpers.codehash, helpers.zoo.trained_by):
what changes it and what does not, on small packages written here and on copies of helpers itself."""
import importlib
import itertools
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import zoo
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


# --- the kinds of cached model, on copies of helpers with one edit each


def _helpers_copy(tmp_path, monkeypatch, module: str | None = None, old: str = "", new: str = ""):
    """``helpers`` copied under a new name, with ``old`` replaced by ``new`` in ``module``; its zoo."""
    name = f"helpers_copy_{next(_names)}"
    shutil.copytree(Path(zoo.__file__).parent, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    if module:
        path = tmp_path / name / module
        source = path.read_text()
        assert source.count(old) == 1, f"{old!r} is not once in {module}"
        path.write_text(source.replace(old, new))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    copy = importlib.import_module(f"{name}.zoo")
    return {kind: copy.trained_by(kind).digest for kind in copy.TRAINED_BY}


@pytest.fixture(scope="module")
def today():
    return {kind: zoo.trained_by(kind).digest for kind in zoo.TRAINED_BY}


def test_every_kind_has_its_own_fingerprint_and_a_copy_of_helpers_the_same(tmp_path, monkeypatch, today):
    assert set(today) == {"ae", "evaluator", "gan", "cgan", "pixel_gan"}
    assert len({today[k] for k in ("ae", "evaluator", "gan", "pixel_gan")}) == 4
    assert _helpers_copy(tmp_path, monkeypatch) == today  # by names and code, not by module


def test_a_docstring_or_comment_edit_in_models_py_retrains_nothing(tmp_path, monkeypatch, today):
    assert _helpers_copy(tmp_path, monkeypatch, "models.py", '"""The evaluator: a small CNN digit classifier',
                         '"""The judge: a small CNN digit classifier') == today
    assert _helpers_copy(tmp_path, monkeypatch, "models.py", "# 16x16", "# sixteen by sixteen") == today


def test_the_autoencoders_training_penalty_in_metrics_py_counts(tmp_path, monkeypatch, today):
    """normal_moment_penalty (metrics.py) is a loss of train_autoencoder: the autoencoder and the GANs
    trained on its codes change, the evaluator and the pixel GAN do not."""
    changed = _helpers_copy(tmp_path, monkeypatch, "metrics.py", "kurtosis_weight: float = 0.1",
                            "kurtosis_weight: float = 0.2")
    assert {k for k in today if changed[k] != today[k]} == {"ae", "gan", "cgan"}


def test_a_constant_the_autoencoder_uses_counts(tmp_path, monkeypatch, today):
    changed = _helpers_copy(tmp_path, monkeypatch, "models.py", "FC_WIDTH = 512", "FC_WIDTH = 256")
    assert {k for k in today if changed[k] != today[k]} == {"ae", "gan", "cgan"}


def test_the_classifier_loop_counts_for_the_evaluator_only(tmp_path, monkeypatch, today):
    changed = _helpers_copy(tmp_path, monkeypatch, "training.py", "pct_start=0.15)\n        history, start = History(), "
                            "time.perf_counter()\n        for epoch in _progress(range(epochs), \"classifier",
                            "pct_start=0.3)\n        history, start = History(), time.perf_counter()\n"
                            "        for epoch in _progress(range(epochs), \"classifier")
    assert {k for k in today if changed[k] != today[k]} == {"evaluator"}


def test_the_gan_step_counts_for_the_gans_only(tmp_path, monkeypatch, today):
    changed = _helpers_copy(tmp_path, monkeypatch, "gan.py", "return -F.softplus(fake_score).mean()",
                            "return -F.softplus(fake_score).sum()")
    assert {k for k in today if changed[k] != today[k]} == {"gan", "cgan", "pixel_gan"}


def test_a_function_no_training_runs_counts_for_none(tmp_path, monkeypatch, today):
    assert _helpers_copy(tmp_path, monkeypatch, "metrics.py", "return float(max(diff @ diff",
                         "return float(min(diff @ diff") == today  # frechet_distance


def test_the_fingerprints_are_the_same_in_every_process(today):
    code = "from helpers import zoo; print({k: zoo.trained_by(k).digest for k in zoo.TRAINED_BY})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}, cwd=Path(zoo.__file__).parent.parent)
    assert out.stdout.strip() == str(today)
