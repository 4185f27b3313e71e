import os
import shutil
import tempfile

import pytest
import torch

from helpers.data import load_mnist

_SESSION_ROOT = None


def pytest_configure(config):
    """A run of ``pytest tests [notebooks --nbmake]`` started by hand is as hermetic as ``make test``:
    models, runs and build outputs (the nbmake kernels' too, which inherit the environment) go to a
    temporary folder unless the caller chose one."""
    global _SESSION_ROOT
    missing = [name for name in ("EX3_ARTIFACTS", "EX3_REPORT_ROOT") if not os.environ.get(name)]
    if missing:
        _SESSION_ROOT = tempfile.mkdtemp(prefix="ex3-tests-")
        defaults = {"EX3_ARTIFACTS": os.path.join(_SESSION_ROOT, "artifacts"), "EX3_REPORT_ROOT": _SESSION_ROOT}
        os.environ.update({name: defaults[name] for name in missing})
    os.environ.pop("EX3_OUTPUT", None)


def pytest_unconfigure(config):
    if _SESSION_ROOT:
        shutil.rmtree(_SESSION_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def isolated_artifacts(tmp_path, monkeypatch):
    """Every test caches weights in its own folder, never in the project's artifacts/."""
    monkeypatch.setenv("EX3_ARTIFACTS", str(tmp_path / "artifacts"))
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def mnist_small():
    """512 training and 256 test images of real MNIST (make test copies the archives first)."""
    return load_mnist(True, limit=512), load_mnist(False, limit=256)
