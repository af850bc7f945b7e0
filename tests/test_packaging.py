"""`bayeslaw.models` must import from both the editable install and a built wheel (the wheel: slow suite)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import bayeslaw

REPO = Path(__file__).resolve().parent.parent


def test_models_importable_from_editable_install():
    import bayeslaw.models

    assert Path(bayeslaw.models.__file__).resolve().parent == REPO / "models"
    modules = {p.stem for p in (REPO / "models").glob("*.py") if not p.stem.startswith("_")}
    assert set(bayeslaw.models.module_names()) == modules  # discovered, not listed
    assert set(bayeslaw.models.LAWS) <= set(bayeslaw.available_laws())
    assert bayeslaw.example_data_path().is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stderr[-2000:]}")
    (whl,) = out.glob("bayeslaw-*.whl")
    return whl


@pytest.mark.slow
def test_wheel_contains_every_package_models_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (REPO / "models").glob("*.py"):
        assert f"bayeslaw/models/{module.name}" in names
    for module in (REPO / "src" / "bayeslaw").rglob("*.py"):
        assert f"bayeslaw/{module.relative_to(REPO / 'src' / 'bayeslaw').as_posix()}" in names, module
    assert "bayeslaw/data/chinchilla.csv" in names
    assert "bayeslaw/data/README.md" in names
    assert "bayeslaw/py.typed" in names  # PEP 561: the package's annotations are for type checkers
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the Apache-2.0 text ships in the wheel"
    assert not any(n.startswith("models/") for n in names), "models must live inside the bayeslaw package"


@pytest.mark.slow
def test_models_importable_from_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    code = ("import bayeslaw, bayeslaw.models as m; "
            "print(bayeslaw.__file__); print(m.__file__); print(','.join(sorted(bayeslaw.available_laws()))); "
            "print(bayeslaw.example_data_path().is_file())")
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pkg, models, laws, data_ok = proc.stdout.strip().splitlines()
    assert Path(pkg).is_relative_to(target) and Path(models).is_relative_to(target)
    assert laws == ",".join(sorted(bayeslaw.available_laws()))
    assert data_ok == "True"


def test_python_m_bayeslaw_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "bayeslaw", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "bayeslaw" in proc.stdout
    assert "Apache License" in (REPO / "LICENSE").read_text()[:300]
