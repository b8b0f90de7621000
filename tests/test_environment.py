"""Where learners open the course: the offline guard, Binder's files, Colab's setup cell and
badges, and pyproject's version ranges (checked against Colab-like versions and resolved by pip).

The pip dry runs need a package registry: they are marked ``registry`` and run outside the offline
namespace (`make registry`); everything else here runs offline.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import types
from pathlib import Path
from urllib.parse import urlparse

import pytest
import tomllib
from conftest import NetworkBlocked
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# What Colab has shipped recently (2025-2026 runtimes): our ranges must accept these.
COLAB_LIKE = {"torch": ["2.9.0", "2.10.0"], "tensorflow": ["2.19.0", "2.20.0"]}
# Tools that only the test suite and the notebook builder use: Binder leaves them out.
TEST_ONLY = {"nbval", "pytest", "ruff", "pylint", "playwright", "hypothesis", "jupytext"}
PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def read_requirements(path: Path) -> tuple[dict[str, Requirement], list[str]]:
    """``{name: Requirement}`` and the option lines (``--...``) of a pip requirements file."""
    requirements, options = {}, []
    for line in path.read_text().splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        requirement = Requirement(line)  # raises InvalidRequirement on bad syntax
        assert requirement.name not in requirements, f"{path.name}: {requirement.name} twice"
        requirements[requirement.name] = requirement
    return requirements, options


def pinned(requirement: Requirement) -> Version | None:
    """The exact version of a ``name==X`` pin, or None when unpinned."""
    specs = list(requirement.specifier)
    if not specs:
        return None
    assert len(specs) == 1 and specs[0].operator == "==", f"{requirement} is not an exact pin"
    return Version(specs[0].version)


def load_builder():
    spec = importlib.util.spec_from_file_location(
        "build_notebooks", ROOT / "scripts" / "build_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- The offline guard of conftest.py ------------------------------------------------------------


def test_outbound_connections_are_blocked():
    with pytest.raises(NetworkBlocked, match="blocked"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1, documentation only
    with pytest.raises(socket.gaierror, match="blocked"):
        socket.getaddrinfo("pypi.org", 443)
    with pytest.raises(NetworkBlocked):
        socket.socket(socket.AF_INET6).connect(("2001:db8::1", 443, 0, 0))


def test_loopback_is_allowed():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("localhost", port), timeout=5) as client:
            connection, _ = server.accept()
            client.sendall(b"ping")
            assert connection.recv(4) == b"ping"
            connection.close()


# --- Binder -----------------------------------------------------------------------------------------


def test_binder_requirements_pin_what_we_test():
    ours, _ = read_requirements(ROOT / "requirements.txt")
    binder, options = read_requirements(ROOT / "binder" / "requirements.txt")
    # The only option is PyTorch's documented CPU wheel index (PyPI's torch is the CUDA build).
    assert options == [f"--extra-index-url {PYTORCH_CPU_INDEX}"]
    assert set(binder) == set(ours) - TEST_ONLY, "binder/requirements.txt names other packages"
    for name, requirement in binder.items():
        want, got = pinned(ours[name]), pinned(requirement)
        if name == "torch":  # the same release, as PyTorch's CPU build
            assert got is not None and got.local == "cpu", f"Binder needs torch==X+cpu: {got}"
            got = Version(got.public)
        assert got == want, f"{name}: binder pins {got}, requirements.txt pins {want}"


def test_binder_post_build_installs_lessonkit():
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only when executable"
    subprocess.run(["bash", "-n", str(post_build)], check=True)  # shell syntax
    commands = [line for line in post_build.read_text().splitlines() if line.startswith("pip ")]
    assert commands == ["pip install --no-deps -e ."]
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert runtime.startswith("python-")
    floor = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert Version(runtime.removeprefix("python-")) >= Version(floor)


# --- pyproject's ranges ------------------------------------------------------------------------------


def declared_requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    lines = project["dependencies"] + [
        r for e in extras for r in project["optional-dependencies"][e]
    ]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize(
    "name, version", [(n, v) for n, versions in COLAB_LIKE.items() for v in versions]
)
def test_ranges_accept_colab_versions(name, version):
    (requirement,) = [r for r in declared_requirements("torch", "tensorflow") if r.name == name]
    assert Version(version) in requirement.specifier, f"{requirement} rejects Colab's {version}"


def test_ranges_accept_the_versions_we_test():
    ours, _ = read_requirements(ROOT / "requirements.txt")
    aliases = {"tensorflow": "tensorflow-cpu"}  # the same releases under Colab's package name
    for requirement in declared_requirements("torch", "tensorflow", "reference"):
        pin = ours.get(aliases.get(requirement.name, requirement.name))
        if pin is None or pinned(pin) is None:
            continue  # installed as a dependency, or unpinned
        assert pinned(pin) in requirement.specifier, f"{requirement} rejects our pin {pin}"


def registry_reachable() -> bool:
    """Whether pip's index answers (a file:// index always does)."""
    url = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple"
    parts = urlparse(url)
    if parts.scheme == "file":
        return True
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        socket.create_connection((parts.hostname, port), timeout=5).close()
        return True
    except OSError:
        return False


def pip_dry_run(tmp_path: Path, requirements: list[str]) -> dict[str, str]:
    """Resolve ``requirements`` with pip, installing nothing: ``{name: version}``."""
    if not registry_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must reach the package registry to resolve pyproject's ranges")
        pytest.skip("no package registry reachable: pip cannot resolve the ranges offline")
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    command += ["--quiet", "--disable-pip-version-check", "--report", str(report)]
    result = subprocess.run(
        command + requirements, cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"pip cannot resolve {requirements}:\n{result.stderr[-3000:]}"
    installs = json.loads(report.read_text())["install"]
    return {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in installs}


@pytest.mark.registry
def test_pip_resolves_the_ranges(tmp_path):
    requirements = declared_requirements("torch", "tensorflow")
    resolved = pip_dry_run(tmp_path, [str(r) for r in requirements])
    for requirement in requirements:
        assert requirement.name in resolved, f"pip left out {requirement.name}"
        assert Version(resolved[requirement.name]) in requirement.specifier


@pytest.mark.registry
def test_pip_resolves_the_ranges_beside_colab_versions(tmp_path):
    """Our ranges, with the oldest Colab-like torch and TensorFlow pinned: no conflict."""
    colab = {name: versions[0] for name, versions in COLAB_LIKE.items()}
    pins = [f"{name}=={version}" for name, version in colab.items()]
    requirements = [str(r) for r in declared_requirements("torch", "tensorflow")]
    resolved = pip_dry_run(tmp_path, requirements + pins)
    for name, version in colab.items():
        assert Version(resolved[name]) == Version(version)


# --- Colab: the setup cell and the badges -------------------------------------------------------------


def setup_cell_as_python() -> str:
    """The setup cell every notebook starts with, as IPython turns it into Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    builder = load_builder()
    lesson = builder.read_source(builder.SRC / "01_generative_rnn.py")
    name, tags = next(iter(builder.targets(lesson).items()))  # the PyTorch notebook
    cells = builder.notebook_for(lesson, tags, name).cells
    (source,) = [c.source for c in cells if c.source.startswith("# Setup: runs anywhere")]
    return TransformerManager().transform_cell(source)


def run_setup_cell(monkeypatch, on_colab: bool) -> tuple[list[str], list[str]]:
    """Run the setup cell with a stub IPython; returns its shell commands and chdir calls."""
    shell, chdirs = [], []
    if on_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(os, "chdir", chdirs.append)
    ipython = types.SimpleNamespace(system=shell.append)
    code = compile(setup_cell_as_python(), "<setup cell>", "exec")
    exec(code, {"get_ipython": lambda: ipython})
    return shell, chdirs


def test_setup_cell_installs_lessonkit_on_colab_only(monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert run_setup_cell(monkeypatch, on_colab=False) == ([], [])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"  # set before TensorFlow is imported
    shell, chdirs = run_setup_cell(monkeypatch, on_colab=True)
    repository = PYPROJECT["project"]["urls"]["Repository"]
    assert any(c.startswith("git clone") and f" {repository} " in c for c in shell), shell
    assert any("pip install" in c and "lessonkit-course" in c for c in shell), shell
    assert chdirs and chdirs[-1].endswith("lessonkit-course/notebooks")


def expected_colab_url(notebook: str) -> str:
    """Colab's documented URL scheme, from pyproject's repository URL (independent of nbsrc)."""
    parts = urlparse(PYPROJECT["project"]["urls"]["Repository"])
    return f"https://colab.research.google.com/github{parts.path}/blob/main/notebooks/{notebook}"


def test_every_notebook_starts_with_its_colab_badge():
    builder = load_builder()
    built = 0
    for path in sorted(builder.SRC.glob("[0-9]*.py")):
        source = builder.read_source(path)
        for name, tags in builder.targets(source).items():
            first = builder.notebook_for(source, tags, name).cells[0]
            assert first.cell_type == "markdown" and "colab-badge.svg" in first.source
            assert f"({expected_colab_url(name)})" in first.source, first.source
            built += 1
    assert built > 0


def test_readme_badges_come_from_the_repository_url():
    builder = load_builder()
    lines = (ROOT / "README.md").read_text().splitlines()
    badges = [line for line in lines if line.startswith("[![")]
    assert badges == [builder.readme_badges()], (
        "README's badges line is stale; paste this line:\n" + builder.readme_badges()
    )
    repository = urlparse(PYPROJECT["project"]["urls"]["Repository"]).path.strip("/")
    assert f"({expected_colab_url('01_generative_rnn_pytorch.ipynb')})" in badges[0]
    assert f"https://mybinder.org/v2/gh/{repository}/main?urlpath=lab/tree/notebooks" in badges[0]
