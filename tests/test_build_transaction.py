"""A build is a transaction: it installs the report only when every notebook succeeded."""
import hashlib
import signal
import os
import threading

import nbformat
import pytest

from tools import build as build_module
from tools.build import BuildError, build, build_lock, main
from helpers.profiles import committed_dirs


def _notebook(path, body):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "ex3", "display_name": "ex3", "language": "python"}
    params = nbformat.v4.new_code_cell("PROFILE = 'smoke'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def _tree_digest(*folders):
    out = {}
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def committed(tmp_path, monkeypatch):
    """A fake committed smoke report in a temporary project root."""
    monkeypatch.setenv("EX3_REPORT_ROOT", str(tmp_path))
    monkeypatch.delenv("EX3_OUTPUT", raising=False)
    dest = committed_dirs("smoke")
    dest["executed"].mkdir(parents=True)
    dest["figures"].mkdir(parents=True)
    (dest["report"] / "metrics.json").write_text('{"q1": {"test_mse": 0.0086}}\n')
    (dest["report"] / "ex3.pdf").write_bytes(b"%PDF-1.5 committed")
    (dest["executed"] / "01_autoencoder.ipynb").write_text("{}")
    (dest["figures"] / "q1_mse_vs_d.png").write_bytes(b"png")
    return dest


@pytest.mark.slow
def test_a_failed_build_leaves_the_committed_report_byte_identical(committed, tmp_path):
    before = _tree_digest(committed["report"], committed["figures"])
    broken = _notebook(tmp_path / "01_broken.ipynb", "from helpers.report import Section\n"
                       "Section(1, 'q1', 'smoke').record({'x': 1})\nraise ValueError('boom')")
    with pytest.raises(BuildError, match=r"01_broken.ipynb failed .*ValueError: boom") as err:
        build("smoke", notebooks=[broken], log=lambda *_: None)
    assert _tree_digest(committed["report"], committed["figures"]) == before
    assert "runs/.build-smoke" in str(err.value)  # where the failed copy with its traceback is


def test_a_second_build_of_the_same_profile_is_refused_naming_the_first(tmp_path):
    lock = tmp_path / ".build-smoke.lock"
    with build_lock(lock):
        def other():
            try:
                with build_lock(lock):
                    pass
            except BuildError as e:
                errors.append(str(e))
        errors = []
        t = threading.Thread(target=other)  # flock is per open file: a second open conflicts
        t.start()
        t.join()
    assert errors and f"process {os.getpid()}" in errors[0]
    with build_lock(lock):  # released afterwards
        pass


def test_interrupt_is_one_line_and_exit_status_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "build", interrupted)
    assert main(["--profile", "smoke"]) == 130
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unchanged" in err


def test_disk_full_is_one_line(monkeypatch, capsys):
    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", "artifacts/smoke/ae-123.pt")

    monkeypatch.setattr(build_module, "build", full_disk)
    assert main(["--profile", "smoke"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No space left on device" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_read_only_report_folder_fails_before_any_notebook_runs(committed, tmp_path):
    os.chmod(committed["report"], 0o555)
    try:
        with pytest.raises(BuildError, match="cannot write"):
            build("smoke", notebooks=[tmp_path / "never_run.ipynb"], log=lambda *_: None)
    finally:
        os.chmod(committed["report"], 0o755)


@pytest.mark.slow
def test_ctrl_c_during_a_build_is_one_line_130_and_installs_nothing(committed, tmp_path):
    """Ctrl-C (SIGINT to the build's process group) while a notebook is running:
    exit status 130, one line on stderr (the kernels' messages go to kernels.log), the
    committed report and figures byte-identical, and no kernel left running."""
    import subprocess

    import buildkit

    before = _tree_digest(committed["report"], committed["figures"])
    gate = tmp_path / "gate"  # never opened: the notebook runs until interrupted
    notebook = buildkit.notebook(tmp_path / "01_waits.ipynb", [("code", buildkit.wait_for(gate))])
    env = dict(os.environ, EX3_REPORT_ROOT=str(tmp_path), EX3_ARTIFACTS=str(tmp_path / "artifacts"))
    proc = buildkit.start_build([notebook], env, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    kernel = buildkit.wait_at_gate(proc, gate)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does (the kernel has a session of its own)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    ours = [line for line in err.splitlines() if not line.startswith("[IPKernelApp]")]
    assert ours == ["BUILD INTERRUPTED: the committed report is unchanged; cached models are kept"], err[-3000:]
    assert _tree_digest(committed["report"], committed["figures"]) == before
    assert buildkit.wait_gone(kernel, seconds=10), "the notebook's kernel kept running after Ctrl-C"
