"""Values a notebook's check accepts run to the end (smoke profile).

``test_notebook_parameters`` shows that the checks refuse what the code cannot run with; this shows
the other half for the values at the edges of what they accept, where the code takes paths the
defaults (run by nbmake) never take: a single extra FC variant, three images, two folds and a
one-label budget, a hinge-loss GAN trained for one step, an auxiliary weight of 100."""
import os
import subprocess
import sys

import pytest

from helpers.profiles import PROJECT_ROOT

COMPLETES = [
    ("01_autoencoder", dict(FC_VARIANTS="[1]", LATENT_DIMS="[1, 3]", EPOCHS=1)),
    ("02_decorrelation", dict(N_IMAGES="[3, 1024]", MAIN_IMAGES=5, LATENT_DIMS="[2, 4]", SEEDS="[5]")),
    ("03_transfer_learning", dict(FOLDS=2, BUDGETS="[1, 20]")),
    ("04_latent_gan", dict(LATENT_DIM=4, NOISE_DIM=4, INTERP_STEPS=2, OBJECTIVE="hinge", STEPS=1)),
    ("05_digit_generator", dict(AUX_WEIGHTS="[0, 100]", MORE_SEEDS=0)),
]


@pytest.fixture(scope="module")
def shared_root(tmp_path_factory):
    """One folder for the runs of this module: a model one run trains, the next one loads."""
    return tmp_path_factory.mktemp("boundaries")


@pytest.mark.slow
@pytest.mark.parametrize("name, parameters", COMPLETES, ids=[n for n, _ in COMPLETES])
def test_accepted_boundary_values_run_to_the_end(name, parameters, shared_root):
    args = [sys.executable, "-m", "papermill", f"notebooks/{name}.ipynb", str(shared_root / f"{name}.ipynb"),
            "-k", "ex3", "-p", "PROFILE", "smoke"]
    for key, value in parameters.items():
        args += ["-p", key, str(value)]
    env = dict(os.environ, EX3_REPORT_ROOT=str(shared_root), EX3_ARTIFACTS=str(shared_root / "artifacts"))
    env.pop("EX3_OUTPUT", None)
    run = subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
