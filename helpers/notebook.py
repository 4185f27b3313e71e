"""What every question's notebook does first, in one call: :func:`setup`."""
from __future__ import annotations

from typing import NamedTuple

import torch

from . import profiles, zoo
from .report import Section
from .training import default_device


class Setup(NamedTuple):
    profile: profiles.Profile
    device: torch.device
    data: zoo.MNIST
    section: Section


def setup(number: int, key: str, profile: profiles.Profile | str, dataset: str = "mnist", verbose: bool = False,
          **overrides) -> Setup:
    """The profile (the one a notebook's check cell built from its parameters, or a profile's name
    with ``overrides``, where ``None`` keeps the profile's value), the device (GPU when there is
    one), reproducible kernels switched on where torch has them, both data splits as tensors on the
    device, and the report section ``number`` (metrics under ``key``)."""
    if isinstance(profile, str):
        profile = profiles.get_profile(profile, **overrides)
    elif overrides:
        raise TypeError("overrides go with a profile's name, not with a profile")
    device = default_device(verbose=verbose)
    torch.use_deterministic_algorithms(True, warn_only=True)
    data = zoo.mnist(profile, device, dataset=dataset)
    return Setup(profile, device, data, Section(number, key, profile))
