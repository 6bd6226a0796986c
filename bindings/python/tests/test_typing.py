"""The package's type hints: `mypy --strict` accepts the package and a typed program that uses
it, and the wheel ships the PEP 561 py.typed marker, so a user's mypy reads those hints.
mypy comes with build/venv (.ci/install-deps); bindings/build.sh runs this file."""

import importlib.util
import pathlib
import subprocess
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parents[1]


def test_mypy_strict_accepts_the_package_and_its_example():
    assert importlib.util.find_spec("mypy"), "mypy is missing: .ci/install-deps installs it into build/venv"
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--cache-dir", cache,
             "src/psample", "examples/asyncio_stream.py", "tests/typed_usage.py"],
            cwd=HERE, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Success: no issues found in 4 source files" in out.stdout, out.stdout


def test_mypy_strict_rejects_a_wrong_use():
    # The hints are real: misusing the API is an error, not Any.
    with tempfile.TemporaryDirectory() as tmp:
        bad = pathlib.Path(tmp, "bad.py")
        bad.write_text("import psample\n"
                       "async def f(sub: psample.AsyncSubscription) -> str:\n"
                       "    pkts = await sub.recv()\n"
                       "    return pkts[0].data\n")
        out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(pathlib.Path(tmp, "c")),
                              str(bad)], cwd=HERE, capture_output=True, text=True,
                             env={"MYPYPATH": str(HERE / "src"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 1, out.stdout + out.stderr
    assert 'Incompatible return value type (got "bytes", expected "str")' in out.stdout, out.stdout


def test_wheel_ships_py_typed():
    # The setuptools build, offline (setuptools and wheel from the environment).
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
                        "--no-build-isolation", "--wheel-dir", tmp, str(HERE)], check=True)
        wheel, = pathlib.Path(tmp).glob("psample-*.whl")
        with zipfile.ZipFile(wheel) as whl:
            names = set(whl.namelist())
    assert {"psample/py.typed", "psample/__init__.py", "psample/_abi.py"} <= names, names
