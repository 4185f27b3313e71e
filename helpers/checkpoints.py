"""Trained-weight cache under ``artifacts/<profile>/``, keyed by the training config.

A file is written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a half-written checkpoint. Reading checks that the stored config
equals the requested one; a truncated, corrupt or mismatching file is reported and ignored (the
caller retrains), never silently loaded. Each file also carries a SHA-256 of its tensors (a
flipped bit is refused), refuses non-finite weights, and records the version of the training code
that produced it (:data:`CODE_FILES`), so weights trained by older code are retrained, not reused.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch

from .training import keep_random_state

FORMAT_VERSION = 2
# the modules whose code decides what a cached model's weights are (callers may name fewer: an
# autoencoder does not depend on the GAN loop)
CODE_FILES = ("models.py", "training.py", "gan.py", "data.py")


def code_version(files=CODE_FILES) -> str:
    """Short SHA-256 over the source of the modules that train the cached models."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in files:
        path = here / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()[:12]


def tensor_checksum(state_dict: dict) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of every tensor, in key order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def config_key(config: dict) -> str:
    """Readable, stable file stem for a config: ``<kind>-<short hash of the canonical JSON>``."""
    canonical = json.dumps(config, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:12]
    kind = str(config.get("kind", "model"))
    return f"{kind}-{digest}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temp file beside ``path``, fsync, then rename over ``path``.
    The file gets the permissions of any new file (0666 less the umask), not mkstemp's 0600. A
    full disk surfaces as ``OSError(ENOSPC)`` naming ``path``, whatever the writer raised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            try:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            except RuntimeError as err:  # torch.save reports a full disk as "unexpected pos ..."
                if shutil.disk_usage(path.parent).free < (1 << 20) or "unexpected pos" in str(err):
                    raise OSError(errno.ENOSPC, "No space left on device", str(path)) from err
                raise
        os.chmod(tmp, 0o666 & ~_umask())
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


def save_checkpoint(path: Path, config: dict, state_dict: dict, extra: dict | None = None,
                    code_files=CODE_FILES) -> None:
    state_dict = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    payload = {"format": FORMAT_VERSION, "config": config, "state_dict": state_dict,
               "checksum": tensor_checksum(state_dict), "code": code_version(code_files), "code_files": list(code_files), "extra": extra or {}}
    atomic_write(path, lambda f: torch.save(payload, f))


class StaleCheckpoint(Exception):
    """A cached file exists but cannot be used (corrupt, truncated, altered, non-finite, trained
    by other code or for another config)."""


def load_checkpoint(path: Path, config: dict, code_files=CODE_FILES) -> dict:
    """Return the stored payload, or raise :class:`StaleCheckpoint` saying why it is unusable.
    ``code_files``: the modules whose current version the file must have been trained with
    (``None``: the ones the file records)."""
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
    state = payload.get("state_dict")
    if not isinstance(state, dict) or payload.get("checksum") != tensor_checksum(state):
        raise StaleCheckpoint(f"{path.name}: tensor checksum mismatch (the file was altered or damaged)")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise StaleCheckpoint(f"{path.name}: non-finite weights in {bad[:3]}")
    if code_files is None:
        code_files = tuple(payload.get("code_files", CODE_FILES))
    if payload.get("code") != code_version(code_files):
        raise StaleCheckpoint(f"{path.name}: trained by other code (version {payload.get('code')}, "
                              f"now {code_version(code_files)})")
    return payload


def cached_model(directory: Path, config: dict, build: Callable[[], torch.nn.Module],
                 train: Callable[[torch.nn.Module], dict], device=None,
                 verbose: bool = True, code_files=CODE_FILES) -> tuple[torch.nn.Module, dict]:
    """The model for ``config``: loaded from ``directory`` if a valid checkpoint exists, else
    built, trained (``train(model)`` returns a JSON-able dict kept beside the weights, e.g. the
    history) and saved. Returns ``(model, extra)``. A freshly trained model is handed back as
    reloaded from its file, and building and training leave torch's global random state as they
    found it, so a resumed run computes with exactly the tensors (values and memory layout) and
    random numbers that a from-scratch run used, and the caller's random stream is untouched."""
    path = Path(directory) / f"{config_key(config)}.pt"
    remove_stale_temporaries(path)
    with keep_random_state():  # building draws initial weights: not from the caller's random stream
        model = build()
    if path.exists():
        try:
            payload = load_checkpoint(path, config, code_files)
            model.load_state_dict(payload["state_dict"])
            if verbose:
                print(f"cache: loaded {path.name}", file=sys.stderr)
            return model.to(device or "cpu").eval(), payload["extra"]
        except (StaleCheckpoint, RuntimeError) as err:  # RuntimeError: state_dict shape mismatch
            warnings.warn(f"ignoring cached checkpoint, retraining: {err}", stacklevel=2)
            with keep_random_state():
                model = build()
    model.to(device or "cpu")
    # training consumes none of the caller's random numbers: a build that trains a model leaves
    # the random stream where a build that loads it does
    with keep_random_state():
        extra = train(model)
    save_checkpoint(path, config, model.state_dict(), extra, code_files)
    if verbose:
        print(f"cache: trained and saved {path.name}", file=sys.stderr)
    with keep_random_state():
        model = build()
    model.load_state_dict(load_checkpoint(path, config, code_files)["state_dict"])
    return model.to(device or "cpu").eval(), extra
