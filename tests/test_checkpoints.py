import json

import pytest
import torch
from torch import nn

from helpers.checkpoints import (StaleCheckpoint, atomic_write, cached_model, config_key,
                                 load_checkpoint, save_checkpoint)


def _build():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def _train(model):
    with torch.no_grad():
        model.weight.fill_(1.5)
    return {"history": [1, 2, 3]}


def test_round_trip(tmp_path):
    config = {"kind": "toy", "a": 1}
    model, extra = cached_model(tmp_path, config, _build, _train, verbose=False)
    calls = []
    again, extra2 = cached_model(tmp_path, config, _build, lambda m: calls.append(1) or {}, verbose=False)
    assert not calls, "a valid cached model must not be retrained"
    assert torch.equal(again.weight, model.weight) and extra2 == extra == {"history": [1, 2, 3]}


def test_config_key_is_stable_and_specific():
    assert config_key({"kind": "ae", "d": 2, "e": 1}) == config_key({"e": 1, "d": 2, "kind": "ae"})
    assert config_key({"kind": "ae", "d": 2}) != config_key({"kind": "ae", "d": 3})
    assert config_key({"kind": "ae"}).startswith("ae-")


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "x.pt"

    def broken(f):
        f.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []


def test_truncated_checkpoint_is_detected_and_retrained(tmp_path):
    config = {"kind": "toy", "b": 2}
    cached_model(tmp_path, config, _build, _train, verbose=False)
    path = tmp_path / f"{config_key(config)}.pt"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StaleCheckpoint, match="unreadable"):
        load_checkpoint(path, config)
    calls = []

    def train(model):
        calls.append(1)
        return _train(model)

    with pytest.warns(UserWarning, match="retraining"):
        model, _ = cached_model(tmp_path, config, _build, train, verbose=False)
    assert calls == [1] and model.weight.eq(1.5).all()
    load_checkpoint(path, config)  # the rewritten file is valid


def test_config_mismatch_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    save_checkpoint(path, {"kind": "toy", "d": 1}, _build().state_dict())
    with pytest.raises(StaleCheckpoint, match="differs"):
        load_checkpoint(path, {"kind": "toy", "d": 2})


def test_stale_temporaries_of_a_killed_writer_are_removed(tmp_path):
    config = {"kind": "toy", "c": 3}
    stale = tmp_path / f".{config_key(config)}.pt.abc123.tmp"
    stale.write_bytes(b"half")
    cached_model(tmp_path, config, _build, _train, verbose=False)
    assert not stale.exists()
    assert json.dumps(sorted(p.name for p in tmp_path.iterdir())) == json.dumps([f"{config_key(config)}.pt"])
