#!/usr/bin/env python3
"""Side-by-side benchmark of the grid and sphere workloads: posenc
(build/bench/posenc_bench_grids) against the reference Python code, same machine, same run.

  G1  2D sin-cos table 64 x 64 x 768: MAE's util/pos_embed.py get_2d_sincos_pos_embed
      (NumPy, float64 as the reference computes it), transcribed step by step here.
  G2  real spherical harmonics L = 10 on 1,000,000 points: SciPy's scipy.special.sph_harm
      (complex, one call per (l, m >= 0), real and imaginary parts giving m and -m), assembled
      into the real orthonormal [N, 100] float32 matrix as a SciPy user would.

Each Python workload: median of `--repeats` timed runs after one warm-up; NumPy/SciPy use
their own threading (sph_harm is single-threaded; NumPy's sin/cos too). posenc runs with 1
and 2 threads through Google Benchmark (real time, fresh output tensors each iteration).

Optional anchor (skipped unless SPHERICART is set): lab-cosmo/sphericart's C++ library, the
fastest CPU code for real spherical harmonics we know of, through its C API (ctypes):
SPHERICART=/path/to/libsphericart.so (any build of sphericart/src/sphericart.cpp and
sphericart-capi.cpp; its CMake wants network access for a GPU helper, so a plain
`g++ -std=c++17 -O3 -march=native -fopenmp -fPIC -shared -Iinclude -I<dir with sphericart/exports.h>
src/sphericart.cpp src/sphericart-capi.cpp src/*stub.cpp` does). Like for like: the same 10^6
points (posenc reads them from the file POSENC_G2_POINTS), l_max = 9 (100 values a point),
float32 results written into a buffer the caller reuses (sphericart's compute_array_f, its
inputs the float32 unit vectors; posenc's spherical_harmonics_into from (lon, lat) degrees),
and posenc's fresh-output call beside them; OpenMP with 1 and 2 threads, `--repeats` x 3
timed calls after a warm-up, medians with [min, max]. Conventions: sphericart's Y_l^m takes
(x, y, z) with theta = colatitude and the same order (l-major, m = -l .. l); its values equal
posenc's colatitude form without the Condon-Shortley phase (its (-1)^m prefactor cancels the
phase of its P_l^m), which the script checks on every value of 2000 points before timing.

  python3 bench/compare_grids.py [--bench build/bench/posenc_bench_grids] [--repeats 5]
  SPHERICART=/tmp/sphericart-build/libsphericart.so python3 bench/compare_grids.py
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile

import time

import numpy as np
import scipy
from scipy import special

from timing import timed, yardsticks



# MAE util/pos_embed.py, the steps of get_2d_sincos_pos_embed (cls_token = False).
def mae_1d(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=float)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000 ** omega
    pos = pos.reshape(-1)
    out = np.einsum("m,d->md", pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def mae_2d(embed_dim, grid_size):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)
    grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
    emb_h = mae_1d(embed_dim // 2, grid[0])
    emb_w = mae_1d(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


def scipy_real_sh(lon_deg, lat_deg, L):
    """Real orthonormal harmonics without the CS phase, colatitude convention, [N, L^2] float32."""
    theta = np.radians(lon_deg)          # scipy: theta = azimuth
    phi = np.radians(90.0 - lat_deg)     # scipy: phi = colatitude
    out = np.empty((lon_deg.shape[0], L * L), dtype=np.float32)
    for l in range(L):
        for m in range(0, l + 1):
            y = special.sph_harm(m, l, theta, phi)          # includes (-1)^m
            if m == 0:
                out[:, l * l + l] = y.real
            else:
                s = np.sqrt(2.0) * (-1) ** m
                out[:, l * l + l + m] = s * y.real
                out[:, l * l + l - m] = s * y.imag
    return out


def unit_xyz(lon_deg, lat_deg):
    lam, phi = np.radians(lon_deg), np.radians(lat_deg)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)


def sphericart_times(lib_path, xyz, lmax, repeats):
    """sphericart's compute_array_f into one reused float32 buffer: {threads: [ms, ...]} and the values."""
    lib = ctypes.CDLL(lib_path)
    gomp = ctypes.CDLL("libgomp.so.1")  # the OpenMP runtime sphericart is linked to
    lib.sphericart_spherical_harmonics_new_f.restype = ctypes.c_void_p
    lib.sphericart_spherical_harmonics_new_f.argtypes = [ctypes.c_size_t]
    lib.sphericart_spherical_harmonics_compute_array_f.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
    lib.sphericart_spherical_harmonics_delete_f.argtypes = [ctypes.c_void_p]
    calc = lib.sphericart_spherical_harmonics_new_f(lmax)
    xyz32 = np.ascontiguousarray(xyz, dtype=np.float32)
    out = np.zeros((xyz.shape[0], (lmax + 1) ** 2), dtype=np.float32)

    def call():
        lib.sphericart_spherical_harmonics_compute_array_f(calc, xyz32.ctypes.data, xyz32.size, out.ctypes.data,
                                                           out.size)
    times = {}
    for thr in (1, 2):
        gomp.omp_set_num_threads(thr)
        call()
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t0) * 1e3)
        times[thr] = samples
    lib.sphericart_spherical_harmonics_delete_f(calc)
    return times, out


def sphericart_anchor(lib_path, args, lon, lat):
    """posenc (fresh output and reused buffer) against sphericart on the same points, same run."""
    n, lmax = lon.shape[0], 9
    xyz = unit_xyz(lon, lat)
    # Agreement first: posenc's colatitude harmonics of 2000 of the points (CLI) against sphericart's.
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "pts.npy"), np.stack([lon[:2000], lat[:2000]], axis=1))
        subprocess.run([args.cli, "encode", "spherical_harmonics", "--out", os.path.join(tmp, "h"), "--points",
                        os.path.join(tmp, "pts.npy"), "--degree", "10", "--convention", "colatitude"],
                       check=True, capture_output=True)
        ours_sh = np.load(os.path.join(tmp, "h", "input_concat.npy"))
        _, theirs = sphericart_times(lib_path, xyz[:2000], lmax, 1)
    err = np.abs(ours_sh - theirs).max()
    print(f"agreement: G2 max |posenc colatitude - sphericart| = {err:.2e} (sphericart in float32 arithmetic)")
    assert err < 1e-5, "posenc and sphericart disagree"

    times = {}
    rounds = 3
    with tempfile.TemporaryDirectory() as tmp:
        pts = os.path.join(tmp, "g2.npy")
        np.save(pts, np.stack([lon, lat], axis=1))
        env = dict(os.environ, POSENC_G2_POINTS=pts)
        for _ in range(rounds):  # interleave the two sides so that both see the same machine
            raw = subprocess.run([args.bench, "--benchmark_format=json", "--benchmark_filter=G2_",
                                  f"--benchmark_repetitions={args.repeats}", "--benchmark_min_time=0.5"],
                                 check=True, capture_output=True, text=True, env=env).stdout
            for b in json.loads(raw)["benchmarks"]:
                if b.get("run_type") == "iteration":
                    name, thr = b["name"].split("/")[0], int(b["name"].split("/")[1])
                    times.setdefault((name, thr), []).append(b["real_time"])
            theirs, _ = sphericart_times(lib_path, xyz, lmax, args.repeats)
            for thr, v in theirs.items():
                times.setdefault(("sphericart", thr), []).extend(v)
    for thr in (1, 2):
        g, mem = yardsticks(thr, 1024, 1024, 1024, 5)
        print(f"yardsticks, {thr} thread(s): sgemm 1024^3 {g:.0f} GFLOP/s, memcpy 64 MiB {mem:.1f} GB/s")

    def fmt(v):
        return f"{statistics.median(v):8.1f} [{min(v):.1f}, {max(v):.1f}]"
    print(f"posenc vs sphericart ({n} points, l_max {lmax}, float32), ms: median [min, max] of "
          f"{rounds} x {args.repeats} runs")
    print(f"{'workload':<28}{'thr':>4}{'posenc into':>26}{'posenc fresh':>26}{'sphericart into':>26}{'sph/into':>10}")
    for thr in (1, 2):
        into, fresh = times[("G2_SphericalHarmonicsInto", thr)], times[("G2_SphericalHarmonics", thr)]
        ref = times[("sphericart", thr)]
        print(f"{'G2 vs sphericart':<28}{thr:>4}{fmt(into):>26}{fmt(fresh):>26}{fmt(ref):>26}"
              f"{statistics.median(ref) / statistics.median(into):>9.2f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="build/bench/posenc_bench_grids")
    ap.add_argument("--cli", default="build/tools/posenc")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sphericart-only", action="store_true", help="only the sphericart anchor (needs SPHERICART)")
    args = ap.parse_args()
    if args.sphericart_only:
        if not os.environ.get("SPHERICART"):
            sys.exit("--sphericart-only needs SPHERICART=/path/to/libsphericart.so")
        rng = np.random.default_rng(1)
        lon = rng.uniform(-180.0, 180.0, 1_000_000)
        lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 1_000_000)))
        sphericart_anchor(os.environ["SPHERICART"], args, lon, lat)
        return 0

    raw = subprocess.run([args.bench, "--benchmark_format=json", "--benchmark_min_time=1",
                          "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    ours = {}
    for b in json.loads(raw)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name, thr = b["name"].split("/")[0], int(b["name"].split("/")[1])
        ours[(name, thr)] = b["real_time"]

    rng = np.random.default_rng(1)
    n = 1_000_000
    lon = rng.uniform(-180.0, 180.0, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    # The two sides compute the same thing: posenc's output (through the CLI) against the references.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([args.cli, "encode", "sincos_2d", "--out", os.path.join(tmp, "s"), "--height", "64",
                        "--width", "64", "--dim", "768"], check=True, capture_output=True)
        ours_table = np.load(os.path.join(tmp, "s", "input_add.npy"))
        np.save(os.path.join(tmp, "pts.npy"), np.stack([lon[:2000], lat[:2000]], axis=1))
        subprocess.run([args.cli, "encode", "spherical_harmonics", "--out", os.path.join(tmp, "h"), "--points",
                        os.path.join(tmp, "pts.npy"), "--degree", "10", "--convention", "colatitude"],
                       check=True, capture_output=True)
        ours_sh = np.load(os.path.join(tmp, "h", "input_concat.npy"))
    err_g1 = np.abs(ours_table - mae_2d(768, 64)).max()
    err_g2 = np.abs(ours_sh - scipy_real_sh(lon[:2000], lat[:2000], 10)).max()
    print(f"agreement: G1 max |posenc - NumPy| = {err_g1:.2e}, G2 max |posenc - SciPy| = {err_g2:.2e}")
    assert err_g1 < 1e-6 and err_g2 < 1e-5, "posenc and the reference disagree"
    ref = {
        "G1_SinCos2d": timed(lambda: mae_2d(768, 64), args.repeats),
        "G2_SphericalHarmonics": timed(lambda: scipy_real_sh(lon, lat, 10), max(1, args.repeats // 2)),
    }
    targets = {"G1_SinCos2d": 8.0, "G2_SphericalHarmonics": 20.0}
    what = {"G1_SinCos2d": "NumPy (MAE)", "G2_SphericalHarmonics": "SciPy sph_harm"}
    print(f"posenc vs NumPy {np.__version__} / SciPy {scipy.__version__}: medians, same machine, same run")
    print(f"{'workload':<24}{'reference':<16}{'thr':>4}{'posenc ms':>11}{'ref ms':>10}{'ref/posenc':>12}{'target':>8}")
    for name in ref:
        for thr in (1, 2):
            ms = ours[(name, thr)]
            ratio = ref[name] / ms
            ok = "met" if ratio >= targets[name] else "MISSED"
            print(f"{name:<24}{what[name]:<16}{thr:>4}{ms:>11.2f}{ref[name]:>10.1f}{ratio:>11.1f}x"
                  f"{targets[name]:>6.0f}x {ok}")
    if os.environ.get("SPHERICART"):
        sphericart_anchor(os.environ["SPHERICART"], args, lon, lat)
    else:
        print("sphericart anchor skipped (set SPHERICART=/path/to/libsphericart.so)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
