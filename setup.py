"""pip / setuptools front end of the Python module `posenc` (docs/python.md, "Installing with pip").

The package is what tools/python/CMakeLists.txt lays out in <build>/python/posenc: the pure-Python
files of tools/python/posenc/ (copied here by build_py) next to the extension posenc._posenc, which
CMake builds (target posenc_python) and build_ext copies into the wheel.

Environment:
  POSENC_CMAKE_BUILD_DIR  an existing, configured CMake build directory (e.g. build): only the
                          posenc_python target is built there, nothing is configured (seconds when
                          it is up to date). It must be built for this Python version (the
                          extension's suffix is checked; another interpreter gets a warning).
  POSENC_NATIVE           ON (default) or OFF: -march=native for a fresh build.
  CMAKE_BUILD_PARALLEL_LEVEL  parallel jobs of `cmake --build` (default: the number of CPUs).
  CMAKE_GENERATOR         honoured by CMake itself for a fresh build.

Everything setuptools writes goes under build-pip/ (ignored by git like every /build-*/), never
build/lib* or *.egg-info in the source tree; a fresh CMake build lives in build-pip/cmake and is
incremental from one pip run to the next.
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PIP_BUILD = ROOT / "build-pip"


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"project\s*\(\s*posenc\s+VERSION\s+([0-9][0-9.]*)", text)
    if not m:
        raise RuntimeError("posenc: no project(posenc VERSION x.y.z) in CMakeLists.txt")
    return m.group(1)


def run(cmd, **kw):
    print("posenc:", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


class CMakeBuild(build_ext):
    """Builds posenc._posenc with CMake instead of compiling sources itself."""

    def build_extension(self, ext):
        cmake = shutil.which("cmake")
        if cmake is None:
            raise RuntimeError("posenc: cmake not found (apt-get install cmake)")
        reuse = os.environ.get("POSENC_CMAKE_BUILD_DIR")
        if reuse:
            build_dir = Path(reuse).resolve()
            if not (build_dir / "CMakeCache.txt").is_file():
                raise RuntimeError(f"posenc: POSENC_CMAKE_BUILD_DIR={reuse} is not a configured CMake "
                                   f"build directory (no CMakeCache.txt in {build_dir})")
            cache = (build_dir / "CMakeCache.txt").read_text()
            if not re.search(r"^POSENC_BUILD_PYTHON:BOOL=ON$", cache, re.M):
                raise RuntimeError(f"posenc: {build_dir} has POSENC_BUILD_PYTHON=OFF (pybind11 not found "
                                   f"there); reconfigure it with -DPOSENC_BUILD_PYTHON=ON")
            m = re.search(r"^Python_EXECUTABLE:FILEPATH=(.*)$", cache, re.M)
            if m and os.path.realpath(m.group(1)) != os.path.realpath(sys.executable):
                print(f"posenc: warning: {build_dir} builds for {m.group(1)}, pip runs {sys.executable}",
                      flush=True)
        else:
            build_dir = PIP_BUILD / "cmake"
            native = os.environ.get("POSENC_NATIVE", "ON").upper()
            if native not in ("ON", "OFF"):
                raise RuntimeError(f"posenc: POSENC_NATIVE must be ON or OFF, not {native}")
            run([cmake, "-S", ROOT, "-B", build_dir,
                 "-DCMAKE_BUILD_TYPE=Release",
                 f"-DPython_EXECUTABLE={sys.executable}",
                 "-DPOSENC_BUILD_PYTHON=ON",
                 f"-DPOSENC_NATIVE={native}",
                 "-DPOSENC_BUILD_TESTS=OFF", "-DPOSENC_BUILD_EXAMPLES=OFF",
                 "-DPOSENC_BUILD_BENCHMARKS=OFF", "-DPOSENC_BUILD_TOOLS=OFF",
                 "-DPOSENC_INSTALL=OFF"])
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        run([cmake, "--build", build_dir, "--target", "posenc_python", "-j", jobs])

        # The extension as tools/python/CMakeLists.txt names it: <build>/python/posenc/_posenc<EXT_SUFFIX>.
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = build_dir / "python" / "posenc" / f"_posenc{suffix}"
        if not built.is_file():
            found = sorted(p.name for p in (build_dir / "python" / "posenc").glob("_posenc*"))
            raise RuntimeError(
                f"posenc: {built} was not built; found {found or 'nothing'}. The CMake build is for "
                f"another interpreter than {sys.executable}: configure it with "
                f"-DPython_EXECUTABLE={sys.executable} or run pip with that build's interpreter")
        dest = Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)
        shutil.copymode(built, dest)


setup(
    version=project_version(),
    packages=["posenc"],
    package_dir={"posenc": "tools/python/posenc"},
    ext_modules=[Extension("posenc._posenc", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
    # Keep setuptools' own output out of the source tree (build/lib*, build/bdist*, *.egg-info).
    options={
        "build": {"build_base": str(PIP_BUILD / "setuptools")},
        "egg_info": {"egg_base": str(PIP_BUILD)},
        "bdist_wheel": {"bdist_dir": str(PIP_BUILD / "bdist")},
    },
)
