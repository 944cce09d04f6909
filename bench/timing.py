"""Timing helper shared by the comparison scripts."""
import statistics
import time


def timed(fn, repeats=7):
    """Median wall time of `repeats` calls of fn() in milliseconds, after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e3
