"""Timing helpers shared by the comparison scripts."""
import os
import statistics
import subprocess
import sys
import time


def timed_spread(fn, repeats=7):
    """(median, min, max) wall time of `repeats` calls of fn() in milliseconds, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3, min(samples) * 1e3, max(samples) * 1e3


def timed(fn, repeats=7):
    """Median wall time of `repeats` calls of fn() in milliseconds, after one warm-up call."""
    return timed_spread(fn, repeats)[0]


_YARDSTICK = """
import sys, time, numpy as np
m, k, n, reps = (int(v) for v in sys.argv[1:])
a = np.random.rand(m, k).astype(np.float32); b = np.random.rand(k, n).astype(np.float32)
c = np.empty((m, n), np.float32); src = np.ones(16 << 20, np.float32); dst = np.empty_like(src)
def best(fn, reps):
    out = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps): fn()
        out.append((time.perf_counter() - t) / reps)
    return min(out)
print(2 * m * k * n / best(lambda: np.dot(a, b, out=c), reps) / 1e9, 2 * src.nbytes / best(lambda: np.copyto(dst, src), 10) / 1e9)
"""


def yardsticks(threads, m, k, n, reps):
    """The same run's sgemm (NumPy on Debian's OpenBLAS, [m, k] x [k, n], `reps` products per
    sample) in GFLOP/s and memcpy (64 MiB, read + write) in GB/s, best of 5 samples, with OpenBLAS
    limited to `threads` (a fresh process: the limit is read at start-up)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, "-c", _YARDSTICK, str(m), str(k), str(n), str(reps)], env=env, check=True,
                         capture_output=True, text=True)
    g, mem = (float(v) for v in out.stdout.split())
    return g, mem
