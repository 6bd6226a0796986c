"""A PEP 517 build backend made of the standard library only.

setuptools builds wheels only with the separate `wheel` package, and new virtual environments
have neither, so `pip install ./bindings/python` would need a download. This backend needs
nothing: it zips src/psample into a pure-Python wheel, offline, with or without build isolation.
Name, version and summary come from pyproject.toml's [project] table.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def _project():
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        table = f.read().split("[project]", 1)[1].split("\n[", 1)[0]
    return {k: re.search(rf'^{k} = "(.*)"', table, re.M).group(1)
            for k in ("name", "version", "description", "requires-python")}


def _metadata(p):
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {p['name']}\nVersion: {p['version']}\n"
            f"Summary: {p['description']}\nLicense: MIT\nRequires-Python: {p['requires-python']}\n"
            f"Description-Content-Type: text/markdown\n\n{readme}")


def _wheel(wheel_directory, files):
    """Writes a py3-none-any wheel of `files` ({archive name: bytes}) and returns its name."""
    p = _project()
    dist_info = f"{p['name']}-{p['version']}.dist-info"
    files = dict(files)
    files[f"{dist_info}/METADATA"] = _metadata(p).encode()
    files[f"{dist_info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: psample_build\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{dist_info}/RECORD,,"]
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    name = f"{p['name']}-{p['version']}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as whl:
        for arcname, data in files.items():
            whl.writestr(arcname, data)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    src = os.path.join(HERE, "src")
    for dirpath, dirnames, filenames in os.walk(os.path.join(src, "psample")):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in sorted(filenames):
            if f.endswith(".py") or f == "py.typed":
                path = os.path.join(dirpath, f)
                with open(path, "rb") as fh:
                    files[os.path.relpath(path, src).replace(os.sep, "/")] = fh.read()
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # PEP 660: a .pth file that puts src/ on sys.path.
    return _wheel(wheel_directory, {"psample_editable.pth": (os.path.join(HERE, "src") + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = f"{p['name']}-{p['version']}"
    name = f"{base}.tar.gz"
    skip = lambda t: None if "__pycache__" in t.name or t.name.endswith(".pyc") else t  # noqa: E731
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        for entry in ("pyproject.toml", "README.md", "psample_build.py", "src", "tests"):
            tar.add(os.path.join(HERE, entry), f"{base}/{entry}", filter=skip)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata(p).encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return name
