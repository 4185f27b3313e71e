import pytest

from helpers.parameters import Param, ParameterError, check_parameters

SCHEMA = dict(PROFILE=Param(str, choices=("full", "smoke")), LATENT_DIMS=Param("ints", low=1, optional=True),
              EPOCHS=Param(int, low=1, optional=True), LR=Param(float, low=0), MAIN_IMAGES=Param(int, low=1))


def _ns(**over):
    ns = dict(PROFILE="smoke", LATENT_DIMS=None, EPOCHS=None, LR=1e-3, MAIN_IMAGES=100, os=pytest, print=print)
    ns.update(over)
    return ns


def test_papermill_strings_are_parsed_and_written_back():
    ns = _ns(LATENT_DIMS="[4, 10, 32]", EPOCHS="3", LR="0.01")
    check_parameters(ns, **SCHEMA)
    assert ns["LATENT_DIMS"] == [4, 10, 32] and ns["EPOCHS"] == 3 and ns["LR"] == 0.01


@pytest.mark.parametrize("name,value,message", [
    ("LATENT_DIMS", [2.5], r"LATENT_DIMS=\[2.5\] 2.5 is not an integer"),
    ("LATENT_DIMS", [], "not a non-empty list"),
    ("LATENT_DIMS", "abc", "LATENT_DIMS='abc' cannot be read"),
    ("LATENT_DIMS", [0, 4], "out of range"),
    ("EPOCHS", 2.5, "EPOCHS=2.5 2.5 is not an integer"),
    ("LR", "abc", "LR='abc' cannot be read"),
    ("MAIN_IMAGES", -5, r"MAIN_IMAGES=-5 .* must be an integer \(>= 1\)"),
    ("PROFILE", "bogus", "one of 'full', 'smoke'"),
    ("MAIN_IMAGES", True, "not a number"),
])
def test_bad_values_name_the_parameter_and_what_is_allowed(name, value, message):
    with pytest.raises(ParameterError, match=message):
        check_parameters(_ns(**{name: value}), **SCHEMA)


def test_a_misspelt_parameter_is_an_error_not_a_warning():
    injected = "# Parameters\nPROFILE = \"smoke\"\nLATENT_DIM = [4]\n"  # as papermill writes it
    with pytest.raises(ParameterError, match="unknown parameter LATENT_DIM;.*LATENT_DIMS"):
        check_parameters(_ns(LATENT_DIM=[4], In=["", "import os", injected]), **SCHEMA)
    # upper-case constants that a notebook imports or defines itself are not parameters
    check_parameters(_ns(MASKS=("a", "b"), D=10, In=["", "# Parameters\nPROFILE = \"smoke\"\n"]), **SCHEMA)


def test_a_list_of_numbers_is_parsed_checked_and_made_float():
    schema = dict(WEIGHTS=Param("floats", low=0))
    ns = {"WEIGHTS": "[0, 0.3, 3]"}
    check_parameters(ns, **schema)
    assert ns["WEIGHTS"] == [0.0, 0.3, 3.0] and all(isinstance(w, float) for w in ns["WEIGHTS"])
    with pytest.raises(ParameterError, match=r"WEIGHTS=\[-1\] .*out of range.*each >= 0"):
        check_parameters({"WEIGHTS": [-1]}, **schema)
    with pytest.raises(ParameterError, match="not a non-empty list"):
        check_parameters({"WEIGHTS": 0.3}, **schema)
