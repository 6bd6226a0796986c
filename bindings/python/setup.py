"""The wheel's tag; everything else is in pyproject.toml.

With libpsample.so.0 staged in src/psample/ (packaging/wheel.sh does it), the wheel bundles the
library, so it is a platform wheel: py3-none-manylinux_2_N_ARCH, N being the newest glibc symbol
version the library needs (PEP 600), which `auditwheel show` checks. Without it, the wheel is
pure Python and loads the system's libpsample.so.0.
"""

import os
import platform
import re

from setuptools import setup
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel  # setuptools >= 70.1
except ImportError:
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "src", "psample", "libpsample.so.0")


def manylinux_tag(library: str) -> str:
    with open(library, "rb") as f:
        minors = [int(m) for m in re.findall(rb"GLIBC_2\.([0-9]+)", f.read())]
    if not minors:
        raise SystemExit(f"{library}: no GLIBC_2.* symbol versions: not a glibc shared library")
    return f"manylinux_2_{max(minors)}_{platform.machine()}"


class BundlingDistribution(Distribution):
    """With the library bundled, files go to platlib and the wheel is not pure."""

    def has_ext_modules(self) -> bool:
        return os.path.exists(BUNDLED)


class BdistWheel(bdist_wheel):
    def get_tag(self):  # type: ignore[no-untyped-def]
        if os.path.exists(BUNDLED):
            return "py3", "none", manylinux_tag(BUNDLED)
        return super().get_tag()


setup(distclass=BundlingDistribution, cmdclass={"bdist_wheel": BdistWheel})
