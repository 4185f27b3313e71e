"""Seeding local to a block: a leaf module (it imports no other helpers module), so that building
a network (the specs), training it and caching it (the checkpoints) share one way to seed."""
from __future__ import annotations

import contextlib
import random

import numpy as np
import torch


def keep_random_state():
    """A block after which torch's global random state (CPU, and the current GPU's) is what it
    was before: seeding inside it is local to the block."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    return torch.random.fork_rng(devices=devices)


@contextlib.contextmanager
def seeded(seed: int):
    """Run the block with python, numpy and torch seeded with ``seed``, the caller's random state
    restored afterwards; yields a torch Generator seeded the same (batch order, noise)."""
    py_state, np_state = random.getstate(), np.random.get_state()
    with keep_random_state():
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield torch.Generator().manual_seed(seed)
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
