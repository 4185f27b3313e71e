"""Trained-weight cache under ``artifacts/<profile>/``, keyed by the training config.

A file is written to a temporary name in the same folder and renamed into place, so an
interrupted run never leaves a half-written checkpoint. Reading checks that the stored config
equals the requested one; a truncated, corrupt or mismatching file is reported and ignored (the
caller retrains), never silently loaded. Each file also carries a SHA-256 of its tensors (a
flipped bit is refused), refuses non-finite weights, and records the fingerprint of the code that
trained it (:mod:`helpers.codehash`: the functions and classes its training runs, docstrings and
comments aside), so weights trained by other code are retrained, not reused.

Files written before fingerprints (format 2) record a hash of whole source files instead; such a
file is still used when that hash equals the one of today's files (it was trained by exactly this
code), and is then rewritten in place with the fingerprint (``python -m tools.cache upgrade
<folder>`` does it for a whole folder at once).
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

from .codehash import CodeFingerprint
from .seeding import keep_random_state

FORMAT_VERSION = 3  # 3: the training code as a fingerprint of what it runs (2: whole-file hashes)
LEGACY_FORMAT = 2
LEGACY_CODE_FILES = ("models.py", "training.py", "gan.py", "data.py")  # a format-2 file that names none


def legacy_code_version(files=LEGACY_CODE_FILES) -> str:
    """The version format-2 files record: a short SHA-256 over the whole source files ``files``
    of this package, as they are now."""
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
                    code: CodeFingerprint | None = None) -> None:
    """Write the weights ``state_dict`` trained for ``config`` by the code ``code`` (its
    fingerprint), with ``extra`` (JSON-able, e.g. the history), atomically."""
    state_dict = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    atomic_write(path, lambda f: torch.save(_payload(config, state_dict, tensor_checksum(state_dict), extra, code), f))


def _payload(config: dict, state_dict: dict, checksum: str, extra: dict | None, code: CodeFingerprint | None) -> dict:
    return {"format": FORMAT_VERSION, "config": config, "state_dict": state_dict, "checksum": checksum,
            "code": code.digest if code else None, "code_parts": [list(p) for p in code.parts] if code else [],
            "extra": extra or {}}


class StaleCheckpoint(Exception):
    """A cached file exists but cannot be used (corrupt, truncated, altered, non-finite, trained
    by other code or for another config)."""


def read_checkpoint(path: Path) -> dict:
    """The stored payload of a readable checkpoint of a known format whose tensors match their
    checksum and are finite; else raise :class:`StaleCheckpoint` saying why."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, ...
        raise StaleCheckpoint(f"{path.name}: unreadable ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or payload.get("format") not in (FORMAT_VERSION, LEGACY_FORMAT):
        raise StaleCheckpoint(f"{path.name}: unknown checkpoint format")
    state = payload.get("state_dict")
    if not isinstance(state, dict) or payload.get("checksum") != tensor_checksum(state):
        raise StaleCheckpoint(f"{path.name}: tensor checksum mismatch (the file was altered or damaged)")
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise StaleCheckpoint(f"{path.name}: non-finite weights in {bad[:3]}")
    return payload


def check_code(path: Path, payload: dict, code: CodeFingerprint | None) -> None:
    """Raise :class:`StaleCheckpoint` unless ``payload`` was trained by the code whose fingerprint
    is ``code``; a format-2 payload passes when its whole-file hash is the one of today's files."""
    name = Path(path).name
    if payload.get("format") == LEGACY_FORMAT:
        files = tuple(payload.get("code_files", LEGACY_CODE_FILES))
        now = legacy_code_version(files)
        if payload.get("code") != now:
            raise StaleCheckpoint(f"{name}: trained by other code (whole-file version {payload.get('code')} of "
                                  f"{', '.join(files)}, now {now})")
        return
    wanted = code.digest if code else None
    if payload.get("code") != wanted:
        changed = code.changes_from(payload.get("code_parts")) if code else []
        raise StaleCheckpoint(f"{name}: trained by other code (fingerprint {payload.get('code')}, now {wanted}"
                              + (f"; changed: {', '.join(changed[:8])}" if changed else "") + ")")


def load_checkpoint(path: Path, config: dict, code: CodeFingerprint | None = None) -> dict:
    """Return the stored payload, or raise :class:`StaleCheckpoint` saying why it is unusable.
    ``code``: the fingerprint of the code the file must have been trained by (a format-2 file:
    the whole files it names must be as they were)."""
    payload = read_checkpoint(path)
    stored = json.loads(json.dumps(payload.get("config"), sort_keys=True, default=str))
    wanted = json.loads(json.dumps(config, sort_keys=True, default=str))
    if stored != wanted:
        raise StaleCheckpoint(f"{Path(path).name}: stored config {stored} differs from {wanted}")
    check_code(path, payload, code)
    return payload


def upgrade_checkpoint(path: Path, payload: dict, code: CodeFingerprint) -> None:
    """Rewrite the format-2 ``payload`` read from ``path`` (already checked: trained by today's
    code) in today's format, with the fingerprint ``code``; the tensors, and so their checksum,
    are unchanged."""
    if payload.get("format") != LEGACY_FORMAT:
        raise ValueError(f"{Path(path).name} is not a format-{LEGACY_FORMAT} checkpoint")
    new = _payload(payload["config"], payload["state_dict"], payload["checksum"], payload.get("extra"), code)
    atomic_write(path, lambda f: torch.save(new, f))


def cached_model(directory: Path, config: dict, build: Callable[[], torch.nn.Module],
                 train: Callable[[torch.nn.Module], dict], device=None,
                 verbose: bool = True, code: CodeFingerprint | None = None) -> tuple[torch.nn.Module, dict]:
    """The model for ``config``: loaded from ``directory`` if a valid checkpoint trained by the
    code ``code`` (its fingerprint) exists, else built, trained (``train(model)`` returns a
    JSON-able dict kept beside the weights, e.g. the history) and saved. Returns ``(model, extra)``.
    A valid format-2 file is rewritten with ``code`` when loaded. A freshly trained model is handed back as
    reloaded from its file, and building and training leave torch's global random state as they
    found it, so a resumed run computes with exactly the tensors (values and memory layout) and
    random numbers that a from-scratch run used, and the caller's random stream is untouched."""
    path = Path(directory) / f"{config_key(config)}.pt"
    remove_stale_temporaries(path)
    with keep_random_state():  # building draws initial weights: not from the caller's random stream
        model = build()
    if path.exists():
        try:
            payload = load_checkpoint(path, config, code)
            model.load_state_dict(payload["state_dict"])
            if payload["format"] == LEGACY_FORMAT and code is not None:
                upgrade_checkpoint(path, payload, code)
                if verbose:
                    print(f"cache: {path.name} now records the fingerprint {code.digest} of the code that trained it",
                          file=sys.stderr)
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
    save_checkpoint(path, config, model.state_dict(), extra, code)
    if verbose:
        print(f"cache: trained and saved {path.name}", file=sys.stderr)
    with keep_random_state():
        model = build()
    model.load_state_dict(load_checkpoint(path, config, code)["state_dict"])
    return model.to(device or "cpu").eval(), extra
