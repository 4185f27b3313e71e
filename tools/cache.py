"""The trained-weight cache from the command line.

``python -m tools.cache fingerprints``: the fingerprint of the code that trains each kind of cached
model (:func:`helpers.zoo.trained_by`), and what it covers.

``python -m tools.cache upgrade artifacts/full [--dry-run]``: rewrite every checkpoint of the folder
written before fingerprints (format 2, keyed by whole-file hashes) whose recorded hash is the one
of today's files, i.e. trained by exactly this code, with the fingerprint of its kind, so that it
stays valid when those files change in ways its training does not see. The tensors are not
touched. Prints how many were upgraded, were already current, and do not match (left as they are:
retrained when next asked for).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from helpers import checkpoints, zoo


def classify(path: Path, fingerprints: dict) -> tuple[str, str, dict | None]:
    """(``"upgrade"``, ``"current"`` or ``"not matching"``, why, the payload) for one checkpoint."""
    try:
        payload = checkpoints.read_checkpoint(path)
    except checkpoints.StaleCheckpoint as err:
        return "not matching", str(err), None
    config = payload.get("config")
    kind = config.get("kind") if isinstance(config, dict) else None
    if kind not in fingerprints:
        return "not matching", f"{path.name}: no cached kind {kind!r} (one of {sorted(fingerprints)})", payload
    if checkpoints.config_key(config) != path.stem:
        return "not matching", f"{path.name}: its stored config has the key {checkpoints.config_key(config)}", payload
    try:
        checkpoints.check_code(path, payload, fingerprints[kind])
    except checkpoints.StaleCheckpoint as err:
        return "not matching", str(err), payload
    return ("upgrade" if payload["format"] == checkpoints.LEGACY_FORMAT else "current"), "", payload


def upgrade(folder: Path, dry_run: bool = False, out=sys.stdout) -> Counter:
    """Upgrade the checkpoints (``*.pt``) of ``folder`` in place; returns the counts by outcome."""
    fingerprints = {kind: zoo.trained_by(kind) for kind in zoo.TRAINED_BY}
    counts: Counter = Counter()
    for path in sorted(Path(folder).glob("*.pt")):
        outcome, why, payload = classify(path, fingerprints)
        if outcome == "upgrade":
            if not dry_run:
                code = fingerprints[payload["config"]["kind"]]
                checkpoints.upgrade_checkpoint(path, payload, code)
                checkpoints.load_checkpoint(path, payload["config"], code)  # reads back as valid
            outcome = "upgraded"
        elif outcome == "not matching":
            print(f"not matching: {why}", file=out)
        counts[outcome] += 1
    verb = "would be upgraded" if dry_run else "upgraded"
    print(f"{folder}: {counts['upgraded']} {verb}, {counts['current']} already current, "
          f"{counts['not matching']} not matching (left as they are: retrained when next asked for)", file=out)
    return counts


def print_fingerprints(out=sys.stdout) -> None:
    for kind in zoo.TRAINED_BY:
        fp = zoo.trained_by(kind)
        print(f"{kind:10s} {fp.digest}  ({len(fp.parts)} functions, classes and constants: "
              f"{', '.join(name for name, _ in fp.parts)})", file=out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.cache", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="rewrite the format-2 checkpoints trained by today's code with their fingerprint")
    up.add_argument("folder", type=Path)
    up.add_argument("--dry-run", action="store_true", help="count, write nothing")
    sub.add_parser("fingerprints", help="the fingerprint of the code that trains each kind")
    args = parser.parse_args(argv)
    if args.command == "fingerprints":
        print_fingerprints()
        return 0
    if not args.folder.is_dir():
        parser.error(f"{args.folder} is not a folder")
    upgrade(args.folder, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
