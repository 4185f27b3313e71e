import json
import os

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


def _flip_one_bit_in_weights(path, config):
    """Flip one bit inside the stored weight tensor's bytes (the zip stays readable)."""
    payload = torch.load(path, weights_only=True)
    raw = bytearray(path.read_bytes())
    needle = payload["state_dict"]["weight"].contiguous().view(torch.uint8).numpy().tobytes()
    at = bytes(raw).find(needle)
    assert at >= 0
    raw[at + 3] ^= 0x01
    path.write_bytes(bytes(raw))


def test_flipped_bit_in_the_weights_is_refused_and_retrained(tmp_path):
    config = {"kind": "toy", "flip": 1}
    cached_model(tmp_path, config, _build, _train, verbose=False)
    path = tmp_path / f"{config_key(config)}.pt"
    _flip_one_bit_in_weights(path, config)
    with pytest.raises(StaleCheckpoint):
        load_checkpoint(path, config)
    with pytest.warns(UserWarning, match="retraining"):
        model, _ = cached_model(tmp_path, config, _build, _train, verbose=False)
    assert model.weight.eq(1.5).all()


def test_non_finite_weights_are_refused(tmp_path):
    path = tmp_path / "nan.pt"
    state = _build().state_dict()
    state["weight"][0, 0] = float("nan")
    save_checkpoint(path, {"kind": "toy"}, state)
    with pytest.raises(StaleCheckpoint, match="non-finite"):
        load_checkpoint(path, {"kind": "toy"})


def _code(name: str):
    from helpers.codehash import CodeFingerprint

    return CodeFingerprint(f"digest-{name}", ((name, f"source-{name}"),))


def test_weights_from_other_training_code_are_refused_and_retrained(tmp_path):
    config = {"kind": "toy", "code": 1}
    path = tmp_path / f"{config_key(config)}.pt"
    cached_model(tmp_path, config, _build, _train, verbose=False, code=_code("loss_v1"))
    load_checkpoint(path, config, _code("loss_v1"))
    with pytest.raises(StaleCheckpoint, match="other code.*changed: loss_v1, loss_v2"):
        load_checkpoint(path, config, _code("loss_v2"))
    cached_model(tmp_path, config, _build, lambda m: pytest.fail("retrained"), verbose=False, code=_code("loss_v1"))
    trained = []
    with pytest.warns(UserWarning, match="retraining.*other code"):
        cached_model(tmp_path, config, _build, lambda m: trained.append(1) or _train(m), verbose=False,
                     code=_code("loss_v2"))
    assert trained == [1]
    assert torch.load(path, weights_only=True)["code"] == "digest-loss_v2"


def _legacy_file(path, config, state_dict, files, code=None):
    """A checkpoint as written before fingerprints (format 2): a hash of whole source files."""
    from helpers.checkpoints import legacy_code_version, tensor_checksum

    state_dict = {k: v.detach().clone().contiguous() for k, v in state_dict.items()}
    payload = {"format": 2, "config": config, "state_dict": state_dict, "checksum": tensor_checksum(state_dict),
               "code": code or legacy_code_version(files), "code_files": list(files), "extra": {"history": [7]}}
    torch.save(payload, path)


def test_a_legacy_file_trained_by_todays_code_is_loaded_and_upgraded_in_place(tmp_path):
    config = {"kind": "toy", "legacy": 1}
    path = tmp_path / f"{config_key(config)}.pt"
    weights = _build().state_dict()
    weights["weight"].fill_(0.25)
    _legacy_file(path, config, weights, ("models.py", "training.py", "data.py", "specs.py"))
    before = torch.load(path, weights_only=True)
    model, extra = cached_model(tmp_path, config, _build, lambda m: pytest.fail("retrained"), verbose=False,
                                code=_code("today"))
    assert model.weight.eq(0.25).all() and extra == {"history": [7]}
    after = torch.load(path, weights_only=True)
    assert after["format"] == 3 and after["code"] == "digest-today" and after["code_parts"] == [["today", "source-today"]]
    assert after["checksum"] == before["checksum"] and after["config"] == config
    assert all(torch.equal(after["state_dict"][k], v) for k, v in before["state_dict"].items())
    load_checkpoint(path, config, _code("today"))
    with pytest.raises(StaleCheckpoint, match="other code"):  # from now on keyed by the fingerprint
        load_checkpoint(path, config, _code("tomorrow"))


def test_a_legacy_file_trained_by_other_code_is_retrained(tmp_path):
    config = {"kind": "toy", "legacy": 2}
    path = tmp_path / f"{config_key(config)}.pt"
    _legacy_file(path, config, _build().state_dict(), ("models.py", "training.py"), code="0123456789ab")
    with pytest.raises(StaleCheckpoint, match="whole-file version 0123456789ab"):
        load_checkpoint(path, config, _code("today"))
    with pytest.warns(UserWarning, match="retraining"):
        model, _ = cached_model(tmp_path, config, _build, _train, verbose=False, code=_code("today"))
    assert model.weight.eq(1.5).all() and torch.load(path, weights_only=True)["code"] == "digest-today"


def test_the_upgrade_pass_rewrites_the_legacy_files_trained_by_todays_code(tmp_path, capsys):
    from helpers import zoo
    from tools import cache

    files = ("models.py", "training.py", "data.py", "specs.py")
    legacy = [{"kind": "ae", "latent_dim": d} for d in (2, 3)] + [{"kind": "evaluator", "seed": 0}]
    for config in legacy:
        _legacy_file(tmp_path / f"{config_key(config)}.pt", config, _build().state_dict(), files)
    stale = {"kind": "ae", "latent_dim": 4}
    _legacy_file(tmp_path / f"{config_key(stale)}.pt", stale, _build().state_dict(), files, code="0123456789ab")
    current = {"kind": "pixel_gan", "seed": 1}
    save_checkpoint(tmp_path / f"{config_key(current)}.pt", current, _build().state_dict(), code=zoo.trained_by("pixel_gan"))
    unknown = {"kind": "toy"}
    _legacy_file(tmp_path / f"{config_key(unknown)}.pt", unknown, _build().state_dict(), files)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    checksums = {p.name: torch.load(p, weights_only=True)["checksum"] for p in tmp_path.iterdir()}

    assert cache.upgrade(tmp_path, dry_run=True) == {"upgraded": 3, "current": 1, "not matching": 2}
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # a dry run writes nothing
    counts = cache.upgrade(tmp_path)
    assert counts == {"upgraded": 3, "current": 1, "not matching": 2}
    assert "3 upgraded, 1 already current, 2 not matching" in capsys.readouterr().out
    for config in legacy:
        path = tmp_path / f"{config_key(config)}.pt"
        payload = load_checkpoint(path, config, zoo.trained_by(config["kind"]))
        assert payload["format"] == 3 and payload["checksum"] == checksums[path.name]
    assert (tmp_path / f"{config_key(stale)}.pt").read_bytes() == before[f"{config_key(stale)}.pt"]
    assert cache.upgrade(tmp_path) == {"current": 4, "not matching": 2}


class _Transposed(nn.Module):
    """A module whose training leaves a non-contiguous parameter, like a transposed conv weight."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(3, 4))


def test_fresh_model_is_handed_back_as_reloaded_from_its_file(tmp_path):
    def train(model):
        with torch.no_grad():
            model.w.data = torch.arange(12.0).reshape(4, 3).t()  # non-contiguous, as after some ops
        return {}

    model, _ = cached_model(tmp_path, {"kind": "toy", "t": 1}, _Transposed, train, verbose=False)
    again, _ = cached_model(tmp_path, {"kind": "toy", "t": 1}, _Transposed, train, verbose=False)
    assert model.w.is_contiguous() and again.w.is_contiguous()
    assert model.w.stride() == again.w.stride() and torch.equal(model.w, again.w)


def test_models_with_scalar_buffers_round_trip(tmp_path):
    """BatchNorm's 0-dim ``num_batches_tracked`` is covered by the checksum too."""
    build = lambda: nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model, _ = cached_model(tmp_path, {"kind": "bn"}, build, lambda m: {}, verbose=False)
    again, _ = cached_model(tmp_path, {"kind": "bn"}, build, lambda m: pytest.fail("retrained"), verbose=False)
    assert torch.equal(model[1].num_batches_tracked, again[1].num_batches_tracked)


def test_files_get_the_users_umask_not_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "m.json", lambda f: f.write(b"{}"))
    finally:
        os.umask(old)
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o644


def test_a_full_disk_while_saving_is_an_oserror_naming_the_file(tmp_path):
    def torch_save_on_full_disk(f):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0")

    with pytest.raises(OSError, match="No space left on device") as err:
        atomic_write(tmp_path / "m.pt", torch_save_on_full_disk)
    assert err.value.filename == str(tmp_path / "m.pt") and list(tmp_path.iterdir()) == []


def test_building_training_and_loading_leave_the_callers_random_stream_alone(tmp_path):
    def train(model):
        torch.randn(1000)  # training draws random numbers
        return _train(model)

    unseeded_build = lambda: nn.Linear(3, 2)  # draws its initial weights from the global stream
    torch.manual_seed(123)
    cached_model(tmp_path, {"kind": "toy", "rng": 1}, unseeded_build, train, verbose=False)
    after_training = torch.rand(3)
    torch.manual_seed(123)
    cached_model(tmp_path, {"kind": "toy", "rng": 1}, unseeded_build, train, verbose=False)
    after_loading = torch.rand(3)
    torch.manual_seed(123)
    untouched = torch.rand(3)
    assert torch.equal(after_training, after_loading) and torch.equal(after_loading, untouched)
