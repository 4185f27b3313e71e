"""Small synthetic notebooks for the build-pipeline tests, and a way to run ``tools.build`` on them.

The real notebooks are executed once per ``make test``, by nbmake. The build tests check the
machinery around them (staging, install, lock, kill and Ctrl-C safety, metrics.json, the PDF) on
notebooks written here into a temporary folder. They are notebooks of the same kind: kernel
``ex3``, a ``parameters`` cell with ``PROFILE``, ``helpers.notebook.setup`` for the profile, data and
report section, real autoencoders trained and cached through ``helpers.zoo`` (on 256 training
and 128 test images), numbers recorded with ``Section.record``/``Section.answer_row``, a numbered
figure, a numbered table and markdown under a section title.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from helpers.profiles import PROJECT_ROOT

KERNEL = "ex3"
SIZES = "train_size=256, test_size=128"  # a few seconds per notebook, models of a few MB


def notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """Write a notebook for the ``ex3`` kernel: a ``parameters`` cell (``PROFILE``), then
    ``cells`` as (``"markdown"`` or ``"code"``, source) pairs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    params = nbformat.v4.new_code_cell("PROFILE = 'smoke'")
    params.metadata["tags"] = ["parameters"]
    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [params] + [new[kind](source) for kind, source in cells]
    nbformat.write(nb, path)
    return path


def waiting(gate: Path) -> Path:
    """The file a notebook writes, holding its kernel's process id, when it starts waiting for
    ``gate``."""
    return gate.with_name(gate.name + ".waiting")


def wait_for(gate: Path, seconds: float = 300) -> str:
    """Code that writes :func:`waiting` and blocks until ``gate`` exists (at most ``seconds``):
    a test kills or interrupts the build while a notebook sits here, and lets a later build pass
    by creating ``gate`` first."""
    part = str(waiting(gate)) + ".part"
    return ("import os\n"
            "import time\n"
            "from pathlib import Path\n\n"
            f"Path({part!r}).write_text(str(os.getpid()))\n"
            f"os.replace({part!r}, {str(waiting(gate))!r})\n"
            f"deadline = time.time() + {seconds}\n"
            f"while not Path({str(gate)!r}).exists():\n"
            "    assert time.time() < deadline, 'nobody opened the gate'\n"
            "    time.sleep(0.1)\n")


FETCH = """\
def fetch(dims):
    \"\"\"The autoencoders with these latent sizes, from the cache (trained and cached the first time),
    and their test MSE: the one the cached training history holds, and the one the model computes on
    test images with noise drawn after it was fetched.\"\"\"
    rows, noisy_mse = [], {}
    for d in dims:
        model, history = zoo.get_autoencoder(profile, data, latent_dim=d, fc_layers=0, progress=False)
        rows.append(zoo.autoencoder_row(model, history))
        x = data.test.images
        noisy = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
        with torch.no_grad():
            noisy_mse[d] = float(((decode(model.decoder, latent_codes(model.encoder, noisy)) - x) ** 2).mean())
    table = pd.DataFrame(rows)
    return table, {'test_mse_by_d': dict(zip(table.d.astype(int), table.test_mse)), 'noisy_test_mse_by_d': noisy_mse}
"""


def two_sections(folder: Path, gate: Path) -> list[Path]:
    """The report the build tests build, two notebooks like the real ones.

    ``01_small_codes``: one autoencoder per latent size 2, 3, 4 and a latent GAN on the codes of
    the last, each from the cache (trained and cached the first time); records their test MSE and
    the mean of the GAN's samples (from the cached training history, and as
    computed by each model on noisy test images, which depends on the cached weights and on the
    random numbers drawn after the model was fetched: a resumed build matches a fresh one only
    if loading a model gives the weights and random stream that training it gave) and an answer
    row; shows a figure and a table under its section title; then waits for ``gate`` (see
    :func:`wait_for`) and fetches one more autoencoder (latent size 5), recorded under
    ``after_the_gate``.

    ``02_second_section``: a second kernel adds its own section, numbers and answer row.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.md").write_text("# Answers at a glance\n\n| | Our answer |\n|:--|:--|\n"
                                       "| 1a. Error against size | It falls as the code grows |\n"
                                       "| 2a. A second kernel | It records beside the first |\n")
    folder.mkdir(parents=True, exist_ok=True)
    first = notebook(folder / "01_small_codes.ipynb", [
        ("code", "import matplotlib.pyplot as plt\nimport pandas as pd\nimport torch\n\n"
                 "from helpers import notebook, zoo\nfrom helpers.gan import sample_codes\n"
                 "from helpers.training import decode, latent_codes\n\n"
                 + FETCH),
        ("markdown", "# Small codes (S1)\n\nTiny autoencoders, trained once and cached; noise σ ≥ 0.1."),
        ("code", f"profile, device, data, section = notebook.setup(1, 's1', PROFILE, {SIZES})\n"
                 "torch.manual_seed(0)\n"
                 "table, numbers = fetch((2, 3, 4))\n"
                 "ae = zoo.get_autoencoder(profile, data, latent_dim=4, fc_layers=0, progress=False)[0]\n"
                 "gan = profile.latent_gan(ae.spec, steps=30)\n"
                 "G = zoo.get_latent_gan(profile, gan, latent_codes(ae.encoder, data.train.images), progress=False)[0]\n"
                 "numbers['gan_sample_mean'] = float(sample_codes(G, 256, seed=1).mean())\n"
                 "section.record(numbers)\n"
                 "mse = numbers['test_mse_by_d']\n"
                 "section.answer_row('1a. Error against size', 'It falls as the code grows', "
                 "f\"{max(mse.values()):.4f} to {min(mse.values()):.4f}\", 'Figure 1.1')"),
        ("code", "fig, ax = plt.subplots(figsize=(4, 2.5))\n"
                 "ax.plot(table.d, table.test_mse, 'o-')\n"
                 "ax.set(xlabel='latent size', ylabel='test MSE per pixel')\n"
                 "section.figure(fig, 's1_mse', 'Test reconstruction error against the latent size.')\n"
                 "section.table(table[['d', 'params', 'test_mse']], 'The autoencoders of this section.')"),
        ("code", wait_for(gate)),
        ("code", "section.record({'after_the_gate': fetch((5,))[1]})"),
    ])
    second = notebook(folder / "02_second_section.ipynb", [
        ("markdown", "# A second notebook (S2)\n\nIts numbers join those of the first."),
        ("code", "import pandas as pd\n\nfrom helpers.report import Section\n\n"
                 "section = Section(2, 's2', PROFILE)\n"
                 "section.record({'sections_before': 1})\n"
                 "section.answer_row('2a. A second kernel', 'It records beside the first', '2 sections', 'Table 2.1')\n"
                 "section.table(pd.DataFrame({'section': [1, 2], 'notebook': ['first', 'second']}), "
                 "'The notebooks of this report.')"),
    ])
    return [first, second]


SECTION_TITLES = ["Small codes (S1)", "A second notebook (S2)", "Answers at a glance",
                  "Appendix: how this report was built"]


def build_command(notebooks: list[Path], *args: str) -> list[str]:
    """``python -m tools.build ARGS`` with ``notebooks`` in place of ``notebooks/NN_*.ipynb``: the
    CLI's own ``main`` and ``build``, only :func:`tools.build.source_notebooks` (tested on its own)
    answers with the synthetic notebooks."""
    code = ("import sys\n"
            "import tools.build as b\n"
            f"paths = [b.Path(p) for p in {json.dumps([str(p) for p in notebooks])}]\n"
            "b.source_notebooks = lambda *args, **kwargs: paths\n"

            "sys.exit(b.main(sys.argv[1:]))\n")
    return [sys.executable, "-c", code, *args]


def start_build(notebooks: list[Path], env: dict, *args: str, **popen) -> subprocess.Popen:
    """The build as a terminal runs it, in a process group of its own that a test can signal as a
    whole (its kernels start sessions of their own)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.STDOUT)
    return subprocess.Popen(build_command(notebooks, "--profile", "smoke", *args), cwd=PROJECT_ROOT, env=env,
                            text=True, start_new_session=True, **popen)


def wait_at_gate(proc: subprocess.Popen, gate: Path, seconds: float = 300) -> int:
    """Wait until a notebook of the build ``proc`` waits at ``gate``; return its kernel's process id."""
    deadline = time.time() + seconds
    while time.time() < deadline and not waiting(gate).exists() and proc.poll() is None:
        time.sleep(0.1)
    if not waiting(gate).exists():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        out = "".join(filter(None, proc.communicate(timeout=60)))
        raise AssertionError(f"the build never reached the gate: {out[-3000:]}")
    return int(waiting(gate).read_text())


def running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_gone(pid: int, seconds: float = 30) -> bool:
    """Wait (at most ``seconds``) until process ``pid`` has ended; whether it has."""
    deadline = time.time() + seconds
    while running(pid) and time.time() < deadline:
        time.sleep(0.05)
    return not running(pid)


def kill_build(proc: subprocess.Popen, kernel: int) -> None:
    """SIGKILL the build's process group and its kernel, as a crash or an OOM kill would: the
    kernel runs in a session of its own (jupyter_client starts it so), which a signal to the
    build's group does not reach."""
    kernel_group = os.getpgid(kernel)
    os.killpg(proc.pid, signal.SIGKILL)
    if kernel_group != proc.pid:
        os.killpg(kernel_group, signal.SIGKILL)
    proc.wait()
    assert wait_gone(kernel), f"kernel {kernel} survived SIGKILL"
