"""Build the softmaxce Python package, compiling its Go library on the way.

``pip install .`` (or ``pip wheel .``) runs ``go build -buildmode=c-shared`` on
./capi and puts libsoftmaxce.so inside the package, so building needs Go (the
version in go.mod) and a C compiler for cgo. It also compiles the extension
module softmaxce._fastpath, the C version of the fast path for common calls,
against numpy's headers. That module is optional: where it does not compile,
the build goes on and the package runs the same checks in Python. The wheel
that comes out needs neither Go nor a compiler, and is tagged for this
Python and platform because of the extension module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.errors import ExecError, SetupError

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1 keeps bdist_wheel in the wheel package
    from wheel.bdist_wheel import bdist_wheel

ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = ROOT / "python" / "softmaxce"
LIBRARY_NAME = "libsoftmaxce.so"


def read_version() -> str:
    """Return SCE_VERSION_STRING from the C header, the one source of the version."""
    header = (ROOT / "capi" / "softmaxce.h").read_text(encoding="utf-8")
    match = re.search(r'#define\s+SCE_VERSION_STRING\s+"([^"]+)"', header)
    if match is None:
        raise SetupError("capi/softmaxce.h does not define SCE_VERSION_STRING")
    return match.group(1)


def read_readme() -> str:
    readme = ROOT / "README.md"
    return readme.read_text(encoding="utf-8") if readme.is_file() else ""


def find_go() -> str:
    """Return the path of the go command: $GO if set, else 'go' on PATH."""
    go = os.environ.get("GO", "go")
    path = shutil.which(go)
    if path is None:
        raise SetupError(
            f"softmaxce: the Go toolchain was not found ({go!r} is not on PATH); "
            "building softmaxce from source compiles its core library with Go "
            "(the version named in go.mod) and a C compiler for cgo. Install Go "
            "from https://go.dev/dl/ or set the GO environment variable to the "
            "go binary, then retry"
        )
    return path


def build_go_library(output: Path) -> None:
    """Compile ./capi into the shared library `output`."""
    go = find_go()
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        go,
        "build",
        "-buildmode=c-shared",
        "-trimpath",
        # An sdist or a fresh checkout may have no usable VCS metadata.
        "-buildvcs=false",
        "-o",
        str(output),
        "./capi",
    ]
    env = dict(os.environ, CGO_ENABLED="1")
    print("softmaxce: " + " ".join(command), flush=True)
    try:
        subprocess.run(command, cwd=ROOT, env=env, check=True)
    except subprocess.CalledProcessError as exc:
        raise ExecError(
            f"softmaxce: 'go build' failed with exit status {exc.returncode}; its "
            "output is above. cgo needs a C compiler (set CC if it is not 'cc')"
        ) from exc

    # cgo writes a generated header next to the library; the package does not
    # use it, and the C interface is capi/softmaxce.h.
    output.with_suffix(".h").unlink(missing_ok=True)


class BuildPyWithGo(build_py):
    """build_py that also compiles the Go library into the built package."""

    def run(self) -> None:
        super().run()
        build_go_library(self._library_path())

    def _library_path(self) -> Path:
        # An editable install imports the package from the source tree.
        if self.editable_mode:
            return PACKAGE_DIR / LIBRARY_NAME
        return Path(self.build_lib) / "softmaxce" / LIBRARY_NAME

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        library = str(self._library_path())
        if not self.editable_mode and library not in outputs:
            outputs.append(library)
        return outputs


class BuildExtWithNumpy(build_ext):
    """build_ext that adds numpy's C headers, importing numpy only when run."""

    def finalize_options(self) -> None:
        super().finalize_options()
        try:
            import numpy
        except ImportError:
            print(
                "softmaxce: numpy is not importable while building, so the optional "
                "extension module softmaxce._fastpath is skipped",
                flush=True,
            )
            self.extensions = []
            return
        for extension in self.extensions:
            extension.include_dirs.append(numpy.get_include())


class BdistWheelPlatform(bdist_wheel):
    """bdist_wheel for a package with native code: never a pure-Python wheel."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False


FASTPATH = Extension(
    "softmaxce._fastpath",
    sources=["python/softmaxce/_fastpath.c"],
    include_dirs=["capi"],
    depends=["capi/softmaxce.h", "capi/softmaxce_private.h"],
    optional=True,
)

setup(
    version=read_version(),
    long_description=read_readme(),
    long_description_content_type="text/markdown",
    ext_modules=[FASTPATH],
    cmdclass={
        "build_py": BuildPyWithGo,
        "build_ext": BuildExtWithNumpy,
        "bdist_wheel": BdistWheelPlatform,
    },
)
