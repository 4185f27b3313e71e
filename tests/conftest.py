import pytest
import torch

from helpers.data import load_mnist


@pytest.fixture(autouse=True)
def isolated_artifacts(tmp_path, monkeypatch):
    """Every test caches weights in its own folder, never in the project's artifacts/."""
    monkeypatch.setenv("EX3_ARTIFACTS", str(tmp_path / "artifacts"))
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def mnist_small():
    """512 training and 256 test images of real MNIST (make test copies the archives first)."""
    return load_mnist(True, limit=512), load_mnist(False, limit=256)
