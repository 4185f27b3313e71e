"""Each notebook's parameter check states what its code needs.

The cell after a notebook's parameters cell checks the parameters and does nothing else, so a value
the code cannot run with is refused before any data is loaded or anything is trained. These tests
run a notebook's imports, parameters and check cells in this process (no kernel), with boundary
values injected as papermill injects them, and assert that each is refused with a message naming
the parameter, or let through; 06, cheap enough, is also run to its end with its smallest values.
"""
import math
import re

import matplotlib
import nbformat
import papermill
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from papermill.translators import translate_parameters

from helpers.parameters import MAX_SEED, ParameterError
from helpers.profiles import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


class _Shell:
    """Stands in for IPython's ``get_ipython()``: the imports cell's ``%matplotlib inline``."""

    def run_line_magic(self, *args):
        pass


def _cells(path):
    """(imports, parameters, check, the rest): the notebook's code cells around its parameters cell."""
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    at = next(i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", []))
    return code[at - 1].source, code[at].source, code[at + 1].source, [c.source for c in code[at + 2:]]


def _notebook(name: str):
    return next(p for p in NOTEBOOKS if p.name.startswith(name))


def run_check(name: str, profile: str = "smoke", **parameters) -> dict:
    """The namespace after the notebook's imports, parameters and check cells, run with
    ``parameters`` (and ``PROFILE``) injected the way papermill injects them."""
    imports, defaults, check, _ = _cells(_notebook(name))
    injected = translate_parameters("python3", "python", {"PROFILE": profile, **parameters}, "Parameters")
    sources = [TransformerManager().transform_cell(imports), defaults, injected, check]
    namespace = {"get_ipython": _Shell, "__name__": "__main__", "In": ["", *sources]}
    with matplotlib.rc_context():  # the imports cell sets the notebooks' plot style
        for source in sources:
            exec(compile(source, name, "exec"), namespace)
    return namespace


REFUSED = [
    # 01: the answer compares no hidden FC layer with the kept depth (2); PCA has 32 x 32 components
    ("01", dict(FC_VARIANTS="[0, 2, 2]"), r"FC_VARIANTS='\[0, 2, 2\]' repeats a value"),
    ("01", dict(LATENT_DIMS="[0]"), r"LATENT_DIMS='\[0\]' 0 is out of range"),
    ("01", dict(LATENT_DIMS="[4, 1025]"), r"LATENT_DIMS=.* 1025 is out of range: .*<= 1,024"),
    ("01", dict(EPOCHS=0), "EPOCHS=0"),
    ("01", dict(SEED=-1), "SEED=-1"),
    ("01", dict(SEED=MAX_SEED + 1), f"SEED={MAX_SEED + 1}"),
    ("01", dict(LATENT_DIM=4), "unknown parameter LATENT_DIM"),
    # 02: a correlation needs three images; no more images than the profile's test set
    ("02", dict(N_IMAGES="[2]"), r"N_IMAGES='\[2\]' 2 is out of range"),
    ("02", dict(N_IMAGES="[3, 1025]"), r"N_IMAGES=\[3, 1025\] asks for more than the 1,024 test images"),
    ("02", dict(profile="full", N_IMAGES="[10001]"), "more than the 10,000 test images of the full profile"),
    ("02", dict(MAIN_IMAGES=2), "MAIN_IMAGES=2"),
    ("02", dict(MAIN_IMAGES=16), r"MAIN_IMAGES=16 must exceed the largest latent size, 16"),
    ("02", dict(SEEDS="[0, 0]"), "SEEDS=.*repeats a value"),
    # 03: folds within a budget of 10 x FOLDS to 100 labels; at least two subsets; bounded copies and neighbours
    ("03", dict(FOLDS=50), r"FOLDS=50 50 is out of range: it must be an integer \(>= 2 and <= 10\)"),
    ("03", dict(FOLDS=6, BUDGETS="[10, 50]"), r"FOLDS=6 and BUDGETS=\[10, 50\] do not fit together"),
    ("03", dict(FOLDS=2, BUDGETS="[10, 300]"), "between 20 and 100"),
    ("03", dict(SUBSETS=1), "SUBSETS=1"),
    ("03", dict(COPIES=0), "COPIES=0"),
    ("03", dict(COPIES=101), "COPIES=101"),
    ("03", dict(NEIGHBOURS=101), "NEIGHBOURS=101"),
    ("03", dict(BUDGETS="[0, 100]"), "BUDGETS="),
    ("03", dict(BUDGETS="[100, 1001]"), "BUDGETS="),
    # 04: the noise no larger than the code; two frames per path at least
    ("04", dict(NOISE_DIM=11), r"NOISE_DIM=11 and LATENT_DIM=None: the noise \(11\) must be at most the code's size \(10\)"),
    ("04", dict(LATENT_DIM=4), r"NOISE_DIM=None and LATENT_DIM=4: the noise \(8\)"),
    ("04", dict(OBJECTIVE="gan"), "OBJECTIVE='gan' is not allowed"),
    ("04", dict(INTERP_STEPS=1), "INTERP_STEPS=1"),
    ("04", dict(STEPS=0), "STEPS=0"),
    # 05: the weights hold 0 and one more; finite bars
    ("05", dict(AUX_WEIGHTS="[0]"), r"AUX_WEIGHTS='\[0\]' has fewer than 2 values"),
    ("05", dict(AUX_WEIGHTS="[1, 3]"), r"AUX_WEIGHTS='\[1, 3\]' lacks 0"),
    ("05", dict(AUX_WEIGHTS="[0, 0]"), "repeats a value"),
    ("05", dict(AUX_WEIGHTS="[0, 101]"), "out of range"),
    ("05", dict(AUX_WEIGHTS=[0.0, math.nan]), "nan is not a finite number"),
    ("05", dict(WORST_DIGIT_BAR=math.nan), "WORST_DIGIT_BAR=nan nan is not a finite number"),
    ("05", dict(WORST_DIGIT_BAR=1.5), "WORST_DIGIT_BAR=1.5"),
    ("05", dict(SHOW_DIGIT=10), "SHOW_DIGIT=10"),
    ("05", dict(NOISE_DIM=11), "must be at most the code's size"),
    # 06: no more images than MNIST's test set; a finite tolerance
    ("06", dict(N_IMAGES=100000), r"N_IMAGES=100000 .*<= 10,000"),
    ("06", dict(N_IMAGES=0), "N_IMAGES=0"),
    ("06", dict(TOLERANCE=math.nan), "TOLERANCE=nan nan is not a finite number"),
    ("06", dict(TOLERANCE="nan"), "TOLERANCE='nan' nan is not a finite number"),
    ("06", dict(TOLERANCE=math.inf), "TOLERANCE=inf"),
    ("06", dict(TOLERANCE=-1e-5), "TOLERANCE=-1e-05"),
    ("06", dict(IN_CHANNELS=4), "IN_CHANNELS=4"),
    ("06", dict(OUT_CHANNELS=65), "OUT_CHANNELS=65"),
    # 07: two PCA axes of the code; the noise no larger than the code
    ("07", dict(LATENT_DIM=1), "LATENT_DIM=1"),
    ("07", dict(NOISE_DIM=11), "must be at most the code's size"),
    ("07", dict(LABELS=0), "LABELS=0"),
    # 08
    ("08", dict(DATASET="cifar"), "DATASET='cifar' is not allowed"),
    ("08", dict(NOISE_DIM=11), "must be at most the code's size"),
    ("08", dict(LABELS=0), "LABELS=0"),
    ("08", dict(GAN_STEPS=0), "GAN_STEPS=0"),
]

ACCEPTED = [
    ("01", dict(FC_VARIANTS="[0, 2]", LATENT_DIMS="[1, 1024]", EPOCHS=1, SEED=MAX_SEED)),
    ("01", dict(FC_VARIANTS="[2, 0, 5]")),
    ("01", dict(FC_VARIANTS="[1]")),  # 0 and the chosen depth are compared whatever the list holds
    ("02", dict(N_IMAGES="[3, 1024]", MAIN_IMAGES=5, LATENT_DIMS="[2, 4]", SEEDS="[5]")),
    ("02", dict(profile="full", N_IMAGES="[10000]", MAIN_IMAGES=100000)),  # more than the test set: all of it
    ("03", dict(FOLDS=10, SUBSETS=2, COPIES=100, NEIGHBOURS=100, GRAPH_COMPONENTS=1)),
    ("03", dict(FOLDS=2, BUDGETS="[1, 20, 1000]")),
    ("04", dict(LATENT_DIM=4, NOISE_DIM=4, INTERP_STEPS=2, OBJECTIVE="wgan-gp", STEPS=1)),
    ("05", dict(AUX_WEIGHTS="[0, 100]", WORST_DIGIT_BAR=1.0, MORE_SEEDS=0, SHOW_DIGIT=0)),
    ("06", dict(N_IMAGES=10000, TOLERANCE=0.0, IN_CHANNELS=1, OUT_CHANNELS=64)),
    ("07", dict(LATENT_DIM=2, NOISE_DIM=2, LABELS=1)),
    ("08", dict(DATASET="mnist", LATENT_DIM=2, NOISE_DIM=1, LABELS=1, GAN_STEPS=1)),
]


@pytest.mark.parametrize("name, parameters, message", REFUSED,
                         ids=[f"{n}-{'-'.join(map(str, p.items()))}" for n, p, _ in REFUSED])
def test_a_value_the_code_cannot_run_with_is_refused_by_the_check_naming_it(name, parameters, message):
    with pytest.raises(ParameterError, match=message) as err:
        run_check(name, **parameters)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name, parameters", ACCEPTED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACCEPTED)])
def test_boundary_values_the_code_runs_with_pass_the_check(name, parameters):
    namespace = run_check(name, **parameters)
    assert namespace["profile"].name == parameters.get("profile", "smoke")
    for key, value in parameters.items():  # papermill's strings, parsed and written back
        if isinstance(value, str) and value.startswith("["):
            assert namespace[key] == eval(value), key


def test_the_check_cells_read_parameters_only():
    """Nothing in a check cell loads data, builds models or trains: a refusal comes before all that."""
    for path in NOTEBOOKS:
        _, _, check, _ = _cells(path)
        assert "check_parameters(globals()" in check, path.name
        assert not re.search(r"notebook\.setup|zoo\.|load_mnist|Section\(", check), path.name


def test_papermill_sees_every_parameter_with_its_type():
    """``papermill --help-notebook`` lists each checked parameter, one assignment a line, with a type."""
    for path in NOTEBOOKS:
        with pytest.raises(ParameterError) as err:  # the message lists the notebook's checked parameters
            run_check(path.name[:2], NOT_A_PARAMETER=1)
        checked = err.value.args[0].split("this notebook's parameters are ")[1].split(", ")
        inferred = papermill.inspect_notebook(str(path))
        assert list(inferred) == checked, path.name
        assert all(p["inferred_type_name"] not in ("None", "") for p in inferred.values()), (path.name, inferred)


@pytest.mark.parametrize("parameters", [dict(N_IMAGES=1, IN_CHANNELS=1, OUT_CHANNELS=1, TOLERANCE=0.0),
                                        dict(N_IMAGES=200)])  # 200 images: two chunks of the attention
def test_06_runs_to_the_end_with_its_boundary_values(parameters, tmp_path, monkeypatch):
    from helpers.report import read_metrics

    monkeypatch.setenv("EX3_OUTPUT", str(tmp_path / "stage"))
    namespace = run_check("06", **parameters)
    *_, rest = _cells(_notebook("06"))
    for source in rest:
        exec(compile(source, "06", "exec"), namespace)
    theory = read_metrics("smoke")["theory"]
    assert theory["n_images"] == parameters["N_IMAGES"] and theory["conv_attention_max_abs_err"] < 1e-5
