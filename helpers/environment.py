"""Where the project is and the environment variables it reads: a leaf module (it imports no other
helpers module), so that every other module may import it."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# every environment variable the project reads: the library and the tools read them through env() only; a
# notebook's parameters cell reads EX3_PROFILE itself, so that papermill can override it
ENVIRONMENT = {
    "EX3_PROFILE": "the profile a notebook runs when its parameters do not say (default full)",
    "EX3_DEVICE": "the torch device (default: cuda, else mps, else cpu)",
    "EX3_DATA": "the data root (default data/)",
    "EX3_ARTIFACTS": "where cached weights live (default artifacts/)",
    "EX3_REPORT_ROOT": "the folder that holds report/, figures/ and runs/ (default: the project; tests move it)",
    "EX3_OUTPUT": "set by the build: the staging folder its notebooks write to",
    "EX3_EXTRAS": "1: the build also runs the extras notebooks (make report EXTRAS=1)",
    "EX3_SEED_OFFSET": "an integer added to every training and sampling seed (default 0; make report SEED_OFFSET=1 "
                       "builds the report in another random world)",
}


def env(name: str, default=None):
    """The value of the project's environment variable ``name`` (one of :data:`ENVIRONMENT`), or
    ``default`` when it is unset or empty."""
    if name not in ENVIRONMENT:
        raise KeyError(f"{name} is not one of the project's variables {sorted(ENVIRONMENT)}")
    return os.environ.get(name) or default


def report_root() -> Path:
    return Path(env("EX3_REPORT_ROOT", PROJECT_ROOT))
