#!/usr/bin/env python3
"""High-degree reference real spherical harmonics, independent of any recurrence: the
explicit polynomial (Rodrigues) form of the associated Legendre functions evaluated with
mpmath in arbitrary precision,

    P_l(x) = 2^-l sum_k (-1)^k C(l, k) C(2l - 2k, l) x^(l-2k),
    P_l^m(x) = (1 - x^2)^(m/2) d^m/dx^m P_l(x)   (no Condon-Shortley phase; exact integer coefficients),
    pbar_l^m = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!) P_l^m(cos theta),
    Y_l^0 = pbar_l^0,  Y_l^m = sqrt2 pbar_l^m cos(m az),  Y_l^-m = sqrt2 pbar_l^m sin(m az)  (m > 0),

in the colatitude convention (theta = 90 deg - lat, az = lon). The sum cancels massively (terms
up to ~10^3000 at l = 2000), so it runs with as many digits as its largest coefficient has, less
those the normalisation removes, plus 45, and again with 40 more; the two must agree to 1e-25 relative to the band scale
sqrt((2l+1)/(4 pi)). Cross-checked at low degree against mpmath.spherharm. Writes
tests/data/mpmath_sph/:
  points.npy  [P, 2] (lon, lat) degrees: both poles, points 1e-6 .. 1 degree from them, the
              equator, the date line, mid latitudes and latitudes 60 .. 85 where sin(theta)^m
              underflows double for m of several hundred (at l = 2000 and |lat| ~ 68 deg,
              pbar_l^m of order one for m ~ 700 sits on a pbar_m^m below 1e-308)
  lm.npy      [K, 2] int64 (l, m), m in -l..l, for l in DEGREES and a spread of orders
  values.npy  [P, K] float64, the harmonic Y_l^m at each point
Read by tests/test_sphere_high_degree.cpp.

    /usr/bin/python3 tests/data/gen_mpmath_sph.py tests/data/mpmath_sph
"""
import sys

from functools import lru_cache
from math import comb, factorial, lgamma, log, log10

import mpmath as mp
import numpy as np

DEGREES = [100, 500, 999, 1000, 2000]
POINTS = [(0.0, 90.0), (37.0, -90.0), (10.0, 89.999999), (-120.0, -89.9999), (45.0, 89.99), (-60.0, 89.0),
          (170.0, -85.0), (-5.0, 80.0), (33.3, -75.0), (100.0, 60.0), (-180.0, 45.0), (180.0, 30.0),
          (12.5, 0.0), (-77.7, -10.0), (123.4, 1e-7), (25.0, 68.2), (-140.0, -67.5)]


def orders(l):
    ms = {0, 1, 2, 3, 10, l // 8, l // 4, l // 3, 7 * l // 20, 3 * l // 8, l // 2, 2 * l // 3, 3 * l // 4, 7 * l // 8, l - 10, l - 2, l - 1, l}
    ms = sorted(m for m in ms if 0 <= m <= l)
    return sorted({s * m for m in ms for s in (1, -1)})


@lru_cache(maxsize=None)
def coefficients(l, m):
    """Exact integer coefficients c_k of P_l^m(x) / (1-x^2)^(m/2) * 2^l = sum_k c_k x^(l-m-2k)."""
    return [(-1) ** k * comb(l, k) * comb(2 * l - 2 * k, l) * factorial(l - 2 * k) // factorial(l - 2 * k - m)
            for k in range((l - m) // 2 + 1)]


def digits_needed(l, m):
    """Working digits for 1e-35 absolute accuracy in pbar: the largest coefficient's digits less those
    the factor norm / 2^l removes (|x| <= 1, (1-x^2)^(m/2) <= 1 only help)."""
    top = max(abs(c) for c in coefficients(l, m)).bit_length() * log10(2)
    scale = l * log10(2) + 0.5 * (lgamma(l + m + 1) - lgamma(l - m + 1)) / log(10)
    return int(top - scale) + 45


def pbar(l, m, x):
    """pbar_l^m(x) at the current precision, by the explicit sum (Horner in x^2)."""
    total = mp.mpf(0)
    x2 = x * x
    for c in coefficients(l, m):  # k = 0, 1, ...: powers l-m-2k falling
        total = total * x2 + c
    if (l - m) % 2:
        total *= x
    norm = mp.sqrt(mp.mpf(2 * l + 1) / (4 * mp.pi) * mp.mpf(factorial(l - m)) / mp.mpf(factorial(l + m)))
    return norm * (1 - x2) ** (mp.mpf(m) / 2) * total / mp.mpf(2) ** l


def real_sh(l, m, lon, lat):
    colat = mp.radians(90 - mp.mpf(lat))
    az = mp.radians(mp.mpf(lon))
    p = pbar(l, abs(m), mp.cos(colat))
    if m == 0:
        return p
    return mp.sqrt(2) * p * (mp.cos(abs(m) * az) if m > 0 else mp.sin(abs(m) * az))


def value(l, m, lon, lat):
    digits = digits_needed(l, abs(m))
    out = []
    for dps in (digits, digits + 40):
        with mp.workdps(dps):
            out.append(real_sh(l, m, lon, lat))
    band = mp.sqrt((2 * l + 1) / (4 * mp.pi))
    assert abs(out[0] - out[1]) <= mp.mpf("1e-25") * band, (l, m, lon, lat, out)
    return float(out[1])


def check_against_spherharm():
    for l, m, lon, lat in [(5, 3, 20.0, 10.0), (7, -2, -100.0, -50.0), (12, 0, 3.0, 80.0), (30, 17, 45.0, 33.0)]:
        colat, az = mp.radians(90 - mp.mpf(lat)), mp.radians(mp.mpf(lon))
        y = mp.spherharm(l, abs(m), colat, az)
        s = mp.sqrt(2) * (-1) ** abs(m)
        ref = y.real if m == 0 else s * (y.real if m > 0 else y.imag)
        assert abs(ref - value(l, m, lon, lat)) < 1e-14, (l, m)


def main(out):
    check_against_spherharm()
    lm = [(l, m) for l in DEGREES for m in orders(l)]
    vals = np.array([[value(l, m, lon, lat) for (l, m) in lm] for (lon, lat) in POINTS])
    np.save(f"{out}/points.npy", np.array(POINTS, dtype=np.float64))
    np.save(f"{out}/lm.npy", np.array(lm, dtype=np.int64))
    np.save(f"{out}/values.npy", vals)


if __name__ == "__main__":
    main(sys.argv[1])
