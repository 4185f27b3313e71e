"""Run profiles: `smoke` (fast pipeline check, used by tests/nbmake) and `full` (the report).

A profile is the scale of a run: data sizes, epochs and steps, seeds, the sweeps a question runs.
How each model is built and trained lives in its spec (:mod:`helpers.specs`), the one home of
those values; the few settings a notebook's parameters may change (the code size, the GAN's noise
size and objective) start from the spec's defaults.

A notebook reads ``PROFILE = os.environ.get("EX3_PROFILE", "full")`` in its parameters cell and
asks :func:`get_profile` for the sizes and epochs. Output locations also depend on the profile so
that a smoke run never overwrites the committed full-profile report.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path

# the project's paths and environment variables live in helpers.environment; importable from here too
from .environment import ENVIRONMENT, PROJECT_ROOT, env, report_root  # noqa: F401
from .specs import OBJECTIVES, AutoencoderSpec, EvaluatorSpec, HeadSpec, LatentGANSpec, PixelGANSpec

MNIST_SIZES = (60000, 10000)  # training and test images in MNIST (and in Fashion-MNIST)


def spec_default(spec_class, name: str):
    """The default of a spec's field: a profile setting that starts there has no value of its own."""
    return spec_class.__dataclass_fields__[name].default


@dataclass(frozen=True)
class Profile:
    name: str
    # data
    train_size: int | None  # None = all 60,000
    test_size: int | None  # None = all 10,000
    # Q1 autoencoders
    ae_epochs: int = spec_default(AutoencoderSpec, "epochs")  # the rest of its recipe: the spec's
    latent_dim: int = spec_default(AutoencoderSpec, "latent_dim")  # the main code size: Q2-Q5 and the extras use it
    latent_dims: tuple[int, ...] = (2, 4, 8, 10, 16, 32, 64)
    fc_variants: tuple[int, ...] = (0, 1, 2)
    chosen_fc_layers: int = spec_default(AutoencoderSpec, "fc_layers")
    # Q2 decorrelation
    decor_seeds: tuple[int, ...] = (0, 1, 2)
    decor_images: tuple[int, ...] = (1000, 5000, 10000)
    # evaluator (digit classifier used to judge generated images)
    evaluator_epochs: int = spec_default(EvaluatorSpec, "epochs")
    # Q3 transfer learning
    label_budgets: tuple[int, ...] = (10, 20, 50, 100, 300)
    label_subsets: int = 5
    head_epochs: int = spec_default(HeadSpec, "epochs")
    full_data_epochs: int = spec_default(EvaluatorSpec, "epochs")  # Q3's all-labels reference: the evaluator's recipe
    # Q4/Q5 latent GANs: Q4's recipe, which Q5, the extras and the appendix reuse
    noise_dim: int = spec_default(LatentGANSpec, "noise_dim")  # k, the generator's input size (at most latent_dim)
    gan_objective: str = spec_default(LatentGANSpec, "objective")  # see helpers.specs.OBJECTIVES
    gan_steps: int = spec_default(LatentGANSpec, "steps")
    gan_batch_size: int = spec_default(LatentGANSpec, "batch_size")
    gan_eval_samples: int = 10000
    gmm_components: tuple[int, ...] = (10, 20, 50, 100)  # Q4's mixture baselines; held-out likelihood picks one
    cgan_steps: int = spec_default(LatentGANSpec, "steps")
    interpolation_pairs: int = 60
    # 07_extras (beyond the assignment; run when extras are switched on)
    denoise_sigmas: tuple[float, ...] = (0.2, 0.35, 0.5, 1.0)
    code_penalty: float = 1.0
    extras_gan_steps: int = 2000
    inversion_images: int = 100
    inversion_steps: int = 200
    embedding_points: int = 3000
    unrolled_steps: tuple[int, ...] = (2, 5)  # k > 0; k = 0 is the plain non-saturating row
    grid_lrs: tuple[float, ...] = (1e-3, 4e-3, 1.6e-2)  # autoencoder learning rate x weight decay
    grid_weight_decays: tuple[float, ...] = (0.0, 0.1)
    grid_epochs: int = 1
    pixel_gan_max_steps: int = 20000  # the pixel DCGAN stops at the latent GAN's wall time first
    # 08_fashion_mnist (appendix: the same pipeline on a second dataset)
    fashion_gan_steps: int = 2000
    # every training and sampling seed is seed(base) = base + seed_offset: another offset, another random world
    seed_offset: int = 0

    def seed(self, base: int = 0) -> int:
        """The seed a notebook or the model zoo uses where the report's code says ``base``."""
        return base + self.seed_offset

    @property
    def train_images(self) -> int:
        """How many training images the notebooks see."""
        return self.train_size or MNIST_SIZES[0]

    @property
    def test_images(self) -> int:
        """How many test images the notebooks see."""
        return self.test_size or MNIST_SIZES[1]

    def autoencoder(self, dataset: str = "mnist", **changes) -> AutoencoderSpec:
        """The report's autoencoder (Q1's choice, which Q2-Q5 build on) in this profile, with
        ``changes`` to its fields (``None`` keeps a field)."""
        main = AutoencoderSpec(latent_dim=self.latent_dim, fc_layers=self.chosen_fc_layers, epochs=self.ae_epochs,
                               dataset=dataset, train_size=self.train_size, test_size=self.test_size,
                               seed=self.seed(changes.pop("seed", None) or 0))
        return replace(main, **{k: v for k, v in changes.items() if v is not None})

    def evaluator(self, dataset: str = "mnist", seed: int = 0) -> EvaluatorSpec:
        """The evaluator CNN for ``dataset`` in this profile (``seed`` shifted by the seed offset)."""
        return EvaluatorSpec(epochs=self.evaluator_epochs, seed=self.seed(seed), dataset=dataset,
                             train_size=self.train_size, test_size=self.test_size)

    def head(self, **changes) -> HeadSpec:
        """Q3's MLP head trained for this profile's ``head_epochs``, with ``changes`` to its fields."""
        return HeadSpec(**{"epochs": self.head_epochs, **changes})

    def latent_gan(self, autoencoder: AutoencoderSpec, **changes) -> LatentGANSpec:
        """Q4's latent GAN on the codes of ``autoencoder``: the recipe Q5, the extras and the
        appendix start from, with ``changes`` to its fields."""
        steps = changes.pop("steps", self.gan_steps)
        return LatentGANSpec(**{"autoencoder": autoencoder, "noise_dim": self.noise_dim, "objective": self.gan_objective,
                                "steps": steps, "batch_size": self.gan_batch_size,
                                "seed": self.seed(changes.pop("seed", 0)),
                                "snapshot_every": max(1, steps // 6), **changes})

    def digit_gan(self, autoencoder: AutoencoderSpec, aux_weight: float, **changes) -> LatentGANSpec:
        """Q5's digit-conditional generator: Q4's recipe, conditional on the digit, trained for
        ``cgan_steps`` with an auxiliary classifier term of weight ``aux_weight``."""
        steps = changes.pop("steps", self.cgan_steps)
        return self.latent_gan(autoencoder, **{"conditional": True, "aux_weight": aux_weight, "steps": steps,
                                               "snapshot_every": max(1, steps // 5), **changes})

    def pixel_gan(self, max_seconds: float, dataset: str = "mnist", **changes) -> PixelGANSpec:
        """The pixel-space DCGAN baseline of the extras: at most ``pixel_gan_max_steps``, stopped
        after ``max_seconds`` of training (rounded to whole seconds, part of its cache key)."""
        steps = changes.pop("steps", self.pixel_gan_max_steps)
        return PixelGANSpec(**{"steps": steps, "seed": self.seed(changes.pop("seed", 0)), "max_seconds": max(1, round(max_seconds)), "dataset": dataset,
                               "train_size": self.train_size, "snapshot_every": max(1, steps // 10), **changes})


PROFILES: dict[str, Profile] = {
    "full": Profile(name="full", train_size=None, test_size=None),
    "smoke": Profile(
        name="smoke",
        train_size=2048,
        test_size=1024,
        ae_epochs=1,
        latent_dims=(2, 4, 10, 16),
        fc_variants=(0, 2),
        decor_seeds=(0, 1),
        decor_images=(256, 512, 1024),
        evaluator_epochs=1,
        label_budgets=(10, 50, 100),
        label_subsets=2,
        head_epochs=30,
        full_data_epochs=1,
        gan_steps=200,
        gan_batch_size=256,
        gan_eval_samples=1000,
        gmm_components=(10, 20),
        cgan_steps=200,
        interpolation_pairs=2,
        denoise_sigmas=(0.5,),
        extras_gan_steps=60,
        inversion_images=8,
        inversion_steps=10,
        embedding_points=300,
        unrolled_steps=(2,),
        grid_lrs=(4e-3,),
        grid_weight_decays=(0.0, 0.1),
        grid_epochs=1,
        pixel_gan_max_steps=30,
        fashion_gan_steps=60,
    ),
}


def get_profile(name: str | None = None, **overrides) -> Profile:
    """Return the named profile (default ``$EX3_PROFILE`` or ``full``), with optional overrides.

    Overrides whose value is ``None`` are ignored, so a notebook can pass its papermill
    parameters straight through (``None`` meaning "use the profile's value").
    """
    name = name or env("EX3_PROFILE", "full")
    if overrides.get("seed_offset") is None:
        try:
            overrides["seed_offset"] = int(env("EX3_SEED_OFFSET", 0))
        except ValueError:
            raise ValueError(f"EX3_SEED_OFFSET must be an integer, got {env('EX3_SEED_OFFSET')!r}") from None
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    profile = PROFILES[name]
    overrides = {k: tuple(v) if isinstance(v, list) else v
                 for k, v in overrides.items() if v is not None}
    unknown = set(overrides) - set(profile.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown profile setting(s) {sorted(unknown)}")
    if overrides:
        profile = replace(profile, **overrides)
    _validate(profile)
    return profile


# settings that may be 0 (every other count must be >= 1); floats must be > 0 unless listed here
MAY_BE_ZERO = {"chosen_fc_layers", "fc_variants", "decor_seeds", "grid_weight_decays", "code_penalty", "seed_offset"}


def _validate(p: Profile) -> None:
    """Every count >= 1 and every rate > 0 (0 allowed where it means "none"), label budgets within
    the training set, a known GAN objective."""
    for f in fields(p):
        values = getattr(p, f.name)
        for v in values if isinstance(values, tuple) else (values,):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                bound = ">= 0" if f.name in MAY_BE_ZERO else (">= 1" if isinstance(v, int) else "> 0")
                if not (v >= 0 if bound == ">= 0" else v >= 1 if bound == ">= 1" else v > 0):
                    raise ValueError(f"{f.name} must be {bound}, got {v}")
    if 10 not in p.gmm_components:
        raise ValueError(f"gmm_components must include 10 (one component per digit, Q4's first baseline), "
                         f"got {p.gmm_components}")
    if p.gan_objective not in OBJECTIVES:
        raise ValueError(f"gan_objective must be one of {OBJECTIVES}, got {p.gan_objective!r}")
    train_available = p.train_images
    for b in p.label_budgets:
        if b > train_available:
            raise ValueError(f"label budget {b} exceeds the {train_available} training images")


def committed_dirs(profile: str | Profile) -> dict[str, Path]:
    """Where the *build* installs a profile's report and figures once every notebook succeeded.

    The full profile's are the committed ``report/`` and ``figures/``; any other profile's sit
    beside them under ``<profile>/`` sub-folders, which git ignores. ``$EX3_REPORT_ROOT`` moves
    the whole tree elsewhere (the tests build into temporary folders).
    """
    name = profile if isinstance(profile, str) else profile.name
    offset = 0 if isinstance(profile, str) else profile.seed_offset
    report, figures = report_root() / "report", report_root() / "figures"
    if name != "full":
        report, figures = report / name, figures / name
    if offset:  # another random world: beside the report, never over it
        report, figures = report / f"seed-offset-{offset}", figures / f"seed-offset-{offset}"
    return {"report": report, "figures": figures, "executed": report / "executed"}


def output_dirs(profile: str | Profile) -> dict[str, Path]:
    """Where a notebook run writes its figures and metrics, and where cached weights live.

    Inside the build (``$EX3_OUTPUT`` set to its staging folder) that folder; any other run
    (JupyterLab, papermill by hand, nbmake) writes to ``runs/<profile>/``, which git ignores, so
    only a build that succeeded as a whole changes the committed report. Cached weights are
    shared by all runs: ``artifacts/<profile>/`` (or ``$EX3_ARTIFACTS/<profile>/``).
    """
    name = profile if isinstance(profile, str) else profile.name
    root = Path(env("EX3_OUTPUT") or report_root() / "runs" / name)
    artifacts = Path(env("EX3_ARTIFACTS", PROJECT_ROOT / "artifacts")) / name
    return {"report": root / "report", "figures": root / "figures", "artifacts": artifacts,
            "executed": root / "report" / "executed"}
