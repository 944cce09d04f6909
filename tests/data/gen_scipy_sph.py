#!/usr/bin/env python3
"""Reference real spherical harmonics from SciPy's scipy.special.sph_harm
(complex, with the Condon-Shortley phase), converted to the real orthonormal
harmonics without the CS phase in the colatitude convention:

    Y_l^0 = Re Y_l^0,  Y_l^m = sqrt2 (-1)^m Re Y_l^m,  Y_l^-m = sqrt2 (-1)^m Im Y_l^m  (m > 0)

sph_harm(m, l, azimuth, colatitude). Writes tests/data/scipy_sph/{points,real_sh}.npy:
points [N, 2] (lon, lat) degrees, real_sh [N, L^2] (float64, l-major, m = -l..l), L = 16.
Read by tests/test_sphere.cpp.

    python3 tests/data/gen_scipy_sph.py tests/data/scipy_sph
"""
import sys

import numpy as np
from scipy.special import sph_harm

L = 16


def main(out):
    rng = np.random.default_rng(2026)
    lon = rng.uniform(-180, 180, 40)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 40)))
    # plus the poles, the equator and the date line
    lon = np.concatenate([lon, [0.0, 37.0, -180.0, 180.0, 12.5]])
    lat = np.concatenate([lat, [90.0, -90.0, 0.0, 45.0, -89.9]])
    az, colat = np.radians(lon), np.radians(90.0 - lat)
    cols = []
    for l in range(L):
        for m in range(-l, l + 1):
            y = sph_harm(abs(m), l, az, colat)
            if m == 0:
                cols.append(y.real)
            elif m > 0:
                cols.append(np.sqrt(2) * (-1) ** m * y.real)
            else:
                cols.append(np.sqrt(2) * (-1) ** abs(m) * y.imag)
    np.save(f"{out}/points.npy", np.stack([lon, lat], axis=1))
    np.save(f"{out}/real_sh.npy", np.stack(cols, axis=1))


if __name__ == "__main__":
    main(sys.argv[1])
