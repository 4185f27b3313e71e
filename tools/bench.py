"""Speed benchmark: ``python -m tools.bench`` (``make bench``) -> ``report/benchmark.json`` (+ ``.md``).

Measured in one run on one machine:
1. one AE training epoch with the project's tensor-resident, index-batched data against the common
   ``DataLoader(MNIST, transform=Compose([Pad(2), ToTensor()]))`` pipeline (same model, batch size
   and threads); the DataLoader epoch is timed on a fraction of the batches and extrapolated;
2. throughput: AE training (images/s), latent-GAN training (codes/s), evaluator inference (images/s);
   the AE epoch's arithmetic rate (GFLOP/s, counted by ``torch.utils.flop_counter``) against the
   machine's float32 matmul rate (``torch.mm`` of 2048x2048, same run);
3. the project's latent-GAN loop (device-side draws, losses read once per logging window) against a
   textbook loop on the same networks (host-side draws copied to the device, ``.item()`` twice per
   step), in generator steps per second;
4. Q3's frozen-encoder head trainings (every label budget x subset of the full profile) trained as
   one batch against the same trainings one by one;
5. the notebooks' wall times from the last full build's provenance, and from
   ``report/gpu_timing.json`` when the full profile was also timed on a GPU
   (``benchmarks/gpu/run_all.sh``).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import torch
import torch.nn.functional as F

from helpers.checkpoints import atomic_write
from helpers.data import batch_indices, data_root, load_mnist
from helpers.gan import train_latent_gan
from helpers.specs import LatentGANSpec
from helpers.models import DigitCNN
from helpers.profiles import committed_dirs, get_profile
from helpers.training import adam_optimizer, autoencoder_step

MAIN = get_profile("full")  # the report's main autoencoder and its settings
MAIN_AE = MAIN.autoencoder()


def _ae_step(model, opt, x):
    autoencoder_step(model, opt, x, MAIN_AE, gen=None)  # the report's step (no input noise: no draws)


def _new_ae():
    model = MAIN_AE.build().to(
        memory_format=torch.channels_last)
    return model, adam_optimizer(model.parameters(), MAIN_AE.lr, "cpu")  # as train_autoencoder


def tensor_epoch_seconds(images: torch.Tensor, batch_size: int, max_batches: int) -> tuple[float, int]:
    model, opt = _new_ae()
    gen = torch.Generator().manual_seed(0)
    batches = list(batch_indices(len(images), batch_size, gen))
    _ae_step(model, opt, images[batches[0]].contiguous(memory_format=torch.channels_last))  # warm-up
    start, n = time.perf_counter(), 0
    for idx in batches[:max_batches]:
        _ae_step(model, opt, images[idx].contiguous(memory_format=torch.channels_last))
        n += len(idx)
    per_image = (time.perf_counter() - start) / n
    return per_image * len(images), n


def dataloader_epoch_seconds(batch_size: int, max_batches: int, workers: int) -> float:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    ds = datasets.MNIST(str(data_root()), train=True, download=True,
                        transform=transforms.Compose([transforms.Pad(2), transforms.ToTensor()]))
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0))
    model, opt = _new_ae()
    it = iter(loader)
    x, _ = next(it)
    _ae_step(model, opt, x.contiguous(memory_format=torch.channels_last))  # warm-up
    start, n = time.perf_counter(), 0
    for i, (x, _) in enumerate(it):
        if i >= max_batches:
            break
        _ae_step(model, opt, x.contiguous(memory_format=torch.channels_last))
        n += len(x)
    return (time.perf_counter() - start) / n * len(ds)


def data_only_seconds(images: torch.Tensor, batch_size: int, workers: int) -> tuple[float, float]:
    """One epoch of batch delivery alone (no model): index the tensor vs iterate the DataLoader."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    start = time.perf_counter()
    for idx in batch_indices(len(images), batch_size, torch.Generator().manual_seed(0)):
        images[idx].contiguous(memory_format=torch.channels_last)
    tensor = time.perf_counter() - start
    ds = datasets.MNIST(str(data_root()), train=True, download=True,
                        transform=transforms.Compose([transforms.Pad(2), transforms.ToTensor()]))
    start = time.perf_counter()
    for x, _ in DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers):
        x.contiguous(memory_format=torch.channels_last)
    return tensor, time.perf_counter() - start


def gan_codes_per_second(steps: int = 200) -> float:
    codes = torch.randn(60000, MAIN.latent_dim)
    spec = LatentGANSpec(noise_dim=MAIN.noise_dim, objective="wgan-gp", steps=steps, batch_size=256)
    start = time.perf_counter()
    train_latent_gan(codes, spec, progress=False)
    return steps * spec.d_steps * spec.batch_size / (time.perf_counter() - start)  # codes seen by the critic


def ae_step_flops(batch_size: int) -> int:
    """Floating-point operations of one AE training step (forward + backward), counted."""
    from torch.utils.flop_counter import FlopCounterMode

    model, _ = _new_ae()
    x = torch.rand(batch_size, 1, 32, 32).contiguous(memory_format=torch.channels_last)
    with FlopCounterMode(display=False) as counter:
        F.binary_cross_entropy_with_logits(model.decoder.logits(model.encoder(x)), x).backward()
    return counter.get_total_flops()


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """The machine's float32 matmul rate: ``torch.mm`` of two n x n matrices."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def textbook_gan_steps_per_second(codes: torch.Tensor, steps: int, batch_size: int = 256,
                                  noise_dim: int = MAIN.noise_dim) -> float:
    """A textbook non-saturating GAN loop on the project's networks: each step draws indices and
    noise on a CPU generator, copies them to the device, and reads both losses with ``.item()``."""
    from helpers.gan import discriminator_loss, generator_loss
    from helpers.models import LatentDiscriminator, LatentGenerator

    torch.manual_seed(0)
    device = codes.device
    G = LatentGenerator(noise_dim, codes.shape[1], (256, 256)).to(device)
    D = LatentDiscriminator(codes.shape[1], (256, 256)).to(device)
    opt_g = adam_optimizer(G.parameters(), 2e-4, device, betas=(0.5, 0.999))
    opt_d = adam_optimizer(D.parameters(), 2e-4, device, betas=(0.5, 0.999))
    gen, losses = torch.Generator().manual_seed(0), []
    start = time.perf_counter()
    for _ in range(steps):
        idx = torch.randint(len(codes), (batch_size,), generator=gen).to(device)
        noise = torch.randn(batch_size, noise_dim, generator=gen).to(device)
        with torch.no_grad():
            fake = G(noise, None)
        loss_d = discriminator_loss("nsgan", D(codes[idx], None), D(fake, None))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        noise = torch.randn(batch_size, noise_dim, generator=gen).to(device)
        loss_g = generator_loss("nsgan", D(G(noise, None), None))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        losses.append((loss_d.item(), loss_g.item()))
    return steps / (time.perf_counter() - start)


def project_gan_steps_per_second(codes: torch.Tensor, steps: int, batch_size: int = 256,
                                 noise_dim: int = MAIN.noise_dim) -> float:
    from helpers.gan import train_adversarial
    from helpers.models import LatentDiscriminator, LatentGenerator

    torch.manual_seed(0)
    G = LatentGenerator(noise_dim, codes.shape[1], (256, 256)).to(codes.device)
    D = LatentDiscriminator(codes.shape[1], (256, 256)).to(codes.device)
    recipe = LatentGANSpec(noise_dim=noise_dim, objective="nsgan", steps=steps, batch_size=batch_size)
    history, _ = train_adversarial(G, D, codes, recipe, torch.Generator().manual_seed(0), progress=False)
    return steps / history.seconds


def q3_heads_batched_vs_sequential(train, test) -> dict:
    """Seconds for the full profile's frozen-arm head trainings (label budgets x subsets), one by
    one (:func:`~helpers.transfer.run_arm`) and batched (:func:`~helpers.transfer.frozen_arm_batched`),
    on the codes of an untrained main encoder (the cost does not depend on the weights); and the
    largest test-accuracy difference between a copy and its run alone."""
    from helpers.transfer import Features, balanced_subset, frozen_arm_batched, run_arm

    profile = MAIN
    encoder = MAIN_AE.build().encoder
    settings = profile.head()
    features = Features.of(encoder, train.images[:5000], test.images)
    jobs = []
    for budget in profile.label_budgets:
        for subset in range(profile.label_subsets):
            idx = balanced_subset(train.labels, budget, seed=subset)
            jobs.append((train.images[idx], train.labels[idx], subset))
    start = time.perf_counter()
    alone = [run_arm("frozen", features, x, y, test, settings, seed=seed)[1] for x, y, seed in jobs]
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    batched = [acc for _, acc in frozen_arm_batched(features, jobs, settings, test, progress=False)]
    together = time.perf_counter() - start
    return {"trainings": len(jobs), "epochs": settings.epochs, "sequential_seconds": round(sequential, 2),
            "batched_seconds": round(together, 2), "speedup": round(sequential / together, 1),
            "largest_accuracy_difference": max(abs(a - b) for a, b in zip(alone, batched))}


@torch.inference_mode()
def evaluator_images_per_second(images: torch.Tensor) -> float:
    model = DigitCNN().eval().to(memory_format=torch.channels_last)
    model(images[:2000].contiguous(memory_format=torch.channels_last))
    start = time.perf_counter()
    for i in range(0, len(images), 2000):
        model(images[i:i + 2000].contiguous(memory_format=torch.channels_last))
    return len(images) / (time.perf_counter() - start)


def run(batch_size: int = 128, max_batches: int = 120, workers: int = 0) -> dict:
    threads = torch.get_num_threads()
    train = load_mnist(True)
    tensor_epoch, n = tensor_epoch_seconds(train.images, batch_size, max_batches)
    loader_epoch = dataloader_epoch_seconds(batch_size, max_batches, workers)
    data_tensor, data_loader = data_only_seconds(train.images, batch_size, workers)
    step_flops = ae_step_flops(batch_size)
    ae_gflops = step_flops * (len(train.images) / batch_size) / tensor_epoch / 1e9
    peak = matmul_gflops()
    test = load_mnist(False)
    heads = q3_heads_batched_vs_sequential(train, test)
    codes = torch.randn(60000, MAIN.latent_dim)
    textbook = textbook_gan_steps_per_second(codes, 600)
    project = project_gan_steps_per_second(codes, 600)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.platform()}",
        "threads": threads, "torch": torch.__version__, "batch_size": batch_size,
        "timed_batches": max_batches, "dataloader_workers": workers,
        "tensor_epoch_seconds": round(tensor_epoch, 1), "dataloader_epoch_seconds": round(loader_epoch, 1),
        "epoch_speedup_vs_dataloader": round(loader_epoch / tensor_epoch, 2),
        "data_only_epoch_seconds": {"tensor": round(data_tensor, 2), "dataloader": round(data_loader, 2)},
        "data_only_speedup": round(data_loader / data_tensor, 1),
        "ae_step_gflop": round(step_flops / 1e9, 2),
        "ae_epoch_gflops": round(ae_gflops, 1), "matmul_peak_gflops": round(peak, 1),
        "ae_epoch_share_of_matmul_peak": round(ae_gflops / peak, 2),
        "gan_steps_per_s": {"project": round(project, 1), "textbook": round(textbook, 1)},
        "gan_steps_vs_textbook": round(project / textbook, 2),
        "q3_heads": heads, "q3_batched_vs_sequential": heads["speedup"],
        "ae_train_images_per_s": round(len(train.images) / tensor_epoch, 1),
        "gan_codes_per_s": round(gan_codes_per_second(), 1),
        "evaluator_images_per_s": round(evaluator_images_per_second(test.images), 1),
    }
    report_dir = committed_dirs("full")["report"]
    if (report_dir / "metrics.json").exists():
        provenance = json.loads((report_dir / "metrics.json").read_text()).get("provenance", {})
        # each notebook's own run (a build that reused a notebook carries that run's seconds), not
        # the wall time of the last build, which is seconds when it reused them
        seconds = provenance.get("notebook_seconds") or {}
        result["notebook_seconds_last_full_build"] = seconds
        result["total_seconds_last_full_build"] = round(sum(seconds.values()), 1)
    if (report_dir / "gpu_timing.json").exists():
        result["gpu_full_profile"] = json.loads((report_dir / "gpu_timing.json").read_text())
    return result


def build_time_summary(notebook_seconds: dict[str, float]) -> str:
    """One line for the README: every notebook's wall time, their sum, and the core questions'
    sum (without the extras notebooks)."""
    from .build import EXTRAS_NOTEBOOKS

    per = ", ".join(f"{k.split('_')[0]} {v:,.0f} s" for k, v in notebook_seconds.items())
    total = sum(notebook_seconds.values())
    core = sum(v for k, v in notebook_seconds.items() if k not in EXTRAS_NOTEBOOKS)
    return f"{total:,.0f} s of notebooks in all ({per}); questions 1-6 alone {core:,.0f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=120, help="batches timed per pipeline")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers")
    args = parser.parse_args(argv)
    result = run(max_batches=args.batches, workers=args.workers)
    out = committed_dirs("full")["report"] / "benchmark.json"
    atomic_write(out, lambda f: f.write(json.dumps(result, indent=2) + "\n"), "w")
    rows = [("machine", f"{result['machine']}, {result['threads']} threads, torch {result['torch']}"),
            ("AE epoch, tensor-resident batching", f"{result['tensor_epoch_seconds']} s"),
            ("AE epoch, DataLoader + Pad/ToTensor", f"{result['dataloader_epoch_seconds']} s"),
            ("speed-up of a training epoch", f"{result['epoch_speedup_vs_dataloader']}x"),
            ("AE epoch arithmetic rate / float32 matmul rate (2048², same run)",
             f"{result['ae_epoch_gflops']} / {result['matmul_peak_gflops']} GFLOP/s "
             f"({result['ae_epoch_share_of_matmul_peak']:.0%})"),
            ("latent-GAN steps/s: project loop / textbook loop (host draws, .item() per step)",
             f"{result['gan_steps_per_s']['project']} / {result['gan_steps_per_s']['textbook']} "
             f"({result['gan_steps_vs_textbook']}x)"),
            (f"Q3 frozen-encoder heads ({result['q3_heads']['trainings']} trainings of "
             f"{result['q3_heads']['epochs']} epochs): one by one / batched",
             f"{result['q3_heads']['sequential_seconds']} s / {result['q3_heads']['batched_seconds']} s "
             f"({result['q3_batched_vs_sequential']}x, accuracies equal within "
             f"{result['q3_heads']['largest_accuracy_difference']:.2%})"),
            ("data-only ratio: batch delivery alone, one epoch, tensor / DataLoader",
             f"{result['data_only_epoch_seconds']['tensor']} s / {result['data_only_epoch_seconds']['dataloader']} s "
             f"({result['data_only_speedup']}x)"),
            ("AE training", f"{result['ae_train_images_per_s']:,.0f} images/s"),
            ("latent WGAN-GP training", f"{result['gan_codes_per_s']:,.0f} codes/s"),
            ("evaluator inference", f"{result['evaluator_images_per_s']:,.0f} images/s")]
    if result.get("notebook_seconds_last_full_build"):
        rows.append(("full profile, last build (per notebook)",
                     build_time_summary(result["notebook_seconds_last_full_build"])))
    if result.get("gpu_full_profile"):
        g = result["gpu_full_profile"]
        per = ", ".join(f"{k.split('_')[0]} {v:,.0f} s" for k, v in g["notebook_seconds"].items())
        rows.append((f"full profile on a GPU ({g['device']}, torch {g['torch']}, commit {g['commit']})",
                     f"{g['total_seconds']:,.0f} s for the notebooks ({per}), PDF export not included"))
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"
    atomic_write(out.with_suffix(".md"), lambda f: f.write(f"# make bench, last run\n\n{table}"), "w")
    width = max(map(len, result))
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")
    print(f"written to {out} and {out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
