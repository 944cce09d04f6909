"""pytest setup for the posenc Python module: ctest sets PYTHONPATH to build/python and
POSENC_CATALOGUE_DUMP to the C++ catalogue dumper. Run by hand with
    PYTHONPATH=build/python POSENC_CATALOGUE_DUMP=build/tools/python/posenc_catalogue_dump \
        /usr/bin/python3 -m pytest tests/python
"""
import os

import pytest

try:
    import posenc  # noqa: F401
except ImportError as e:  # a clear skip when the module was not built
    pytest.skip(f"posenc Python module not importable ({e}); build with POSENC_BUILD_PYTHON=ON and set PYTHONPATH",
                allow_module_level=True)


@pytest.fixture(scope="session")
def dump_tool():
    path = os.environ.get("POSENC_CATALOGUE_DUMP")
    if not path or not os.path.exists(path):
        pytest.skip("POSENC_CATALOGUE_DUMP is not set (ctest sets it)")
    return path
