"""bench/previous.py: the figures recorded in docs/performance.md printed under a new run's rows."""
import importlib.util
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCRIPT = os.path.join(ROOT, "bench", "previous.py")


def load():
    spec = importlib.util.spec_from_file_location("previous", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_keys_are_workload_and_threads():
    prev = load()
    assert prev.key("W4_T5Bias                  1    24.43 [24.40, 25.12]      753.1") == "W4_T5Bias 1"
    assert prev.key("       2       408       1948        4.8x") == "2"  # compare_tabular's rows start with threads
    assert prev.key("posenc (median of 5 repetitions) vs PyTorch") is None  # prose, not a row
    assert prev.key("yardsticks measured in the same run") is None
    assert prev.key("  1 thread(s): posenc end to end 359 [357, 376] ms") is None  # a detail line
    # compare_grids names its reference in parentheses: still a row.
    assert prev.key("G1_SinCos2d             NumPy (MAE)        1       0.64      17.1") == "G1_SinCos2d NumPy (MAE) 1"


def test_recorded_block_pairs_with_new_rows(tmp_path):
    prev = load()
    docs = tmp_path / "performance.md"
    docs.write_text("text\n\n2026-01-01, a run\n\n```text previous:demo.py\nW9_Thing   1   10.0\nW9_Thing   2   6.0\n```\n")
    lines, when = prev.recorded("demo.py", str(docs))
    assert lines == ["W9_Thing   1   10.0", "W9_Thing   2   6.0"]
    assert when == "2026-01-01, a run"
    assert prev.recorded("other.py", str(docs)) == ([], None)


def test_the_repository_records_compare_py():
    # run.sh relies on the block of compare.py; every recorded W-row pairs with its own key.
    out = subprocess.run([sys.executable, SCRIPT, "compare.py"], input="W4_T5Bias   1   1.0 [1.0, 1.0]   9.0\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[1] == "W4_T5Bias   1   1.0 [1.0, 1.0]   9.0"
    assert out[2].startswith("  was W4_T5Bias") and out[2].split()[2] == "1"
