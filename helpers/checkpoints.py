"""Trained-weight cache under ``artifacts/<profile>/``, keyed by the training config.

A file is written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a half-written checkpoint. Reading checks that the stored config
equals the requested one; a truncated, corrupt or mismatching file is reported and ignored (the
caller retrains), never silently loaded.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

FORMAT_VERSION = 1


def config_key(config: dict) -> str:
    """Readable, stable file stem for a config: ``<kind>-<short hash of the canonical JSON>``."""
    canonical = json.dumps(config, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    kind = str(config.get("kind", "model"))
    return f"{kind}-{digest}"


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(path: Path) -> int:
    """Delete temp files left beside ``path`` by a writer that was killed (SIGKILL skips the
    clean-up in :func:`atomic_write`). Returns how many were removed."""
    removed = 0
    for tmp in Path(path).parent.glob(f".{Path(path).name}.*.tmp"):
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def save_checkpoint(path: Path, config: dict, state_dict: dict, extra: dict | None = None) -> None:
    payload = {"format": FORMAT_VERSION, "config": config, "state_dict": state_dict,
               "extra": extra or {}}
    atomic_write(path, lambda f: torch.save(payload, f))


class StaleCheckpoint(Exception):
    """A cached file exists but cannot be used (corrupt, truncated or for another config)."""


def load_checkpoint(path: Path, config: dict) -> dict:
    """Return the stored payload, or raise :class:`StaleCheckpoint` saying why it is unusable."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, ...
        raise StaleCheckpoint(f"{path.name}: unreadable ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise StaleCheckpoint(f"{path.name}: unknown checkpoint format")
    stored = json.loads(json.dumps(payload.get("config"), sort_keys=True, default=str))
    wanted = json.loads(json.dumps(config, sort_keys=True, default=str))
    if stored != wanted:
        raise StaleCheckpoint(f"{path.name}: stored config {stored} differs from {wanted}")
    return payload


def cached_model(directory: Path, config: dict, build: Callable[[], torch.nn.Module],
                 train: Callable[[torch.nn.Module], dict], device=None,
                 verbose: bool = True) -> tuple[torch.nn.Module, dict]:
    """The model for ``config``: loaded from ``directory`` if a valid checkpoint exists, else
    built, trained (``train(model)`` returns a JSON-able dict kept beside the weights, e.g. the
    history) and saved. Returns ``(model, extra)``."""
    path = Path(directory) / f"{config_key(config)}.pt"
    remove_stale_temporaries(path)
    model = build()
    if path.exists():
        try:
            payload = load_checkpoint(path, config)
            model.load_state_dict(payload["state_dict"])
            if verbose:
                print(f"cache: loaded {path.name}", file=sys.stderr)
            return model.to(device or "cpu").eval(), payload["extra"]
        except (StaleCheckpoint, RuntimeError) as err:  # RuntimeError: state_dict shape mismatch
            warnings.warn(f"ignoring cached checkpoint, retraining: {err}", stacklevel=2)
            model = build()
    model.to(device or "cpu")
    extra = train(model)
    save_checkpoint(path, config, {k: v.detach().cpu() for k, v in model.state_dict().items()}, extra)
    if verbose:
        print(f"cache: trained and saved {path.name}", file=sys.stderr)
    return model.eval(), extra
