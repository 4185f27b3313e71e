"""Run profiles: `smoke` (fast pipeline check, used by tests/nbmake) and `full` (the report).

A notebook reads ``PROFILE = os.environ.get("EX3_PROFILE", "full")`` in its parameters cell and
asks :func:`get_profile` for the sizes and epochs. Output locations also depend on the profile so
that a smoke run never overwrites the committed full-profile report.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Profile:
    name: str
    # data
    train_size: int | None  # None = all 60,000
    test_size: int | None  # None = all 10,000
    # Q1 autoencoders
    ae_epochs: int
    ae_batch_size: int = 128
    ae_lr: float = 4e-3
    latent_dim: int = 10  # the main autoencoder's code size: Q1 keeps it, Q2-Q5 and the extras use it
    latent_dims: tuple[int, ...] = (2, 4, 8, 10, 16, 32, 64)
    fc_variants: tuple[int, ...] = (0, 1, 2)
    chosen_fc_layers: int = 2
    # Q2 decorrelation
    decor_seeds: tuple[int, ...] = (0, 1, 2)
    decor_images: tuple[int, ...] = (1000, 5000, 10000)
    # evaluator (digit classifier used to judge generated images)
    evaluator_epochs: int = 4
    # Q3 transfer learning
    label_budgets: tuple[int, ...] = (10, 20, 50, 100, 300)
    label_subsets: int = 5
    head_epochs: int = 300
    full_data_epochs: int = 4
    # Q4/Q5 latent GANs: Q4's recipe, which Q5, the extras and the appendix reuse
    noise_dim: int = 8  # k, the generator's input size (at most latent_dim)
    gan_objective: str = "nsgan"  # non-saturating; see helpers.gan.OBJECTIVES
    gan_steps: int = 12000
    gan_batch_size: int = 512
    gan_eval_samples: int = 10000
    cgan_steps: int = 12000
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


PROFILES: dict[str, Profile] = {
    "full": Profile(name="full", train_size=None, test_size=None, ae_epochs=4),
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
    name = name or os.environ.get("EX3_PROFILE", "full")
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


def _validate(p: Profile) -> None:
    def positive(name: str, value) -> None:
        if value is not None and value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")

    for name in ("train_size", "test_size", "latent_dim", "noise_dim", "ae_epochs", "ae_batch_size", "evaluator_epochs",
                 "label_subsets", "head_epochs", "full_data_epochs", "gan_steps", "cgan_steps",
                 "gan_batch_size", "gan_eval_samples", "interpolation_pairs", "extras_gan_steps",
                 "inversion_images", "inversion_steps", "embedding_points", "grid_epochs",
                 "pixel_gan_max_steps", "fashion_gan_steps"):
        positive(name, getattr(p, name))
    for k in p.unrolled_steps:
        positive("unrolled_steps", k)
    if any(lr <= 0 for lr in p.grid_lrs) or any(wd < 0 for wd in p.grid_weight_decays):
        raise ValueError(f"grid learning rates must be > 0 and weight decays >= 0, got "
                         f"{p.grid_lrs}, {p.grid_weight_decays}")
    from .gan import OBJECTIVES  # here, not at the top: gan imports what imports this module

    if p.gan_objective not in OBJECTIVES:
        raise ValueError(f"gan_objective must be one of {OBJECTIVES}, got {p.gan_objective!r}")
    if p.ae_lr <= 0:
        raise ValueError(f"ae_lr must be > 0, got {p.ae_lr}")
    for d in p.latent_dims:
        positive("latent_dim", d)
    for f in p.fc_variants:
        if f < 0:
            raise ValueError(f"fc_layers must be >= 0, got {f}")
    for sigma in p.denoise_sigmas:
        if sigma <= 0:
            raise ValueError(f"denoising noise levels must be > 0, got {sigma}")
    if p.code_penalty < 0:
        raise ValueError(f"code_penalty must be >= 0, got {p.code_penalty}")
    train_available = p.train_size or 60000
    for b in p.label_budgets:
        positive("label budget", b)
        if b > train_available:
            raise ValueError(f"label budget {b} exceeds the {train_available} training images")


def committed_dirs(profile: str | Profile) -> dict[str, Path]:
    """Where the *build* installs a profile's report and figures once every notebook succeeded.

    The full profile's are the committed ``report/`` and ``figures/``; any other profile's sit
    beside them under ``<profile>/`` sub-folders, which git ignores. ``$EX3_REPORT_ROOT`` moves
    the whole tree elsewhere (the tests build into temporary folders).
    """
    name = profile if isinstance(profile, str) else profile.name
    root = Path(os.environ.get("EX3_REPORT_ROOT", PROJECT_ROOT))
    report, figures = root / "report", root / "figures"
    if name != "full":
        report, figures = report / name, figures / name
    return {"report": report, "figures": figures, "executed": report / "executed"}


def output_dirs(profile: str | Profile) -> dict[str, Path]:
    """Where a notebook run writes its figures and metrics, and where cached weights live.

    Inside the build (``$EX3_OUTPUT`` set to its staging folder) that folder; any other run
    (JupyterLab, papermill by hand, nbmake) writes to ``runs/<profile>/``, which git ignores, so
    only a build that succeeded as a whole changes the committed report. Cached weights are
    shared by all runs: ``artifacts/<profile>/`` (or ``$EX3_ARTIFACTS/<profile>/``).
    """
    name = profile if isinstance(profile, str) else profile.name
    if os.environ.get("EX3_OUTPUT"):
        root = Path(os.environ["EX3_OUTPUT"])
    else:
        root = Path(os.environ.get("EX3_REPORT_ROOT", PROJECT_ROOT)) / "runs" / name
    artifacts = Path(os.environ.get("EX3_ARTIFACTS", PROJECT_ROOT / "artifacts")) / name
    return {"report": root / "report", "figures": root / "figures", "artifacts": artifacts,
            "executed": root / "report" / "executed"}
