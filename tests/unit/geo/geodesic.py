"""An independent oracle for distances: Vincenty's formulae on the WGS-84 ellipsoid.

The module under test measures with a local mid-latitude projection; the tests place points with
Vincenty's direct formula and measure with the inverse, so the code is never its own judge.
"""
from __future__ import annotations

import math

A = 6378137.0
F = 1 / 298.257223563
B = (1 - F) * A


def _ab(u2: float) -> tuple[float, float]:
    big_a = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    big_b = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    return big_a, big_b


def _delta_sigma(big_b: float, sin_s: float, cos_s: float, cos2sm: float) -> float:
    return big_b * sin_s * (cos2sm + big_b / 4 * (
        cos_s * (-1 + 2 * cos2sm ** 2) - big_b / 6 * cos2sm * (-3 + 4 * sin_s ** 2) * (-3 + 4 * cos2sm ** 2)))


def inverse(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance in metres (Vincenty 1975, iterated to 1e-12)."""
    u1 = math.atan((1 - F) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - F) * math.tan(math.radians(lat2)))
    big_l = math.radians(lon2 - lon1)
    lam = big_l
    for _ in range(200):
        sin_l, cos_l = math.sin(lam), math.cos(lam)
        sin_s = math.hypot(math.cos(u2) * sin_l, math.cos(u1) * math.sin(u2) - math.sin(u1) * math.cos(u2) * cos_l)
        if sin_s == 0:
            return 0.0
        cos_s = math.sin(u1) * math.sin(u2) + math.cos(u1) * math.cos(u2) * cos_l
        sigma = math.atan2(sin_s, cos_s)
        sin_a = math.cos(u1) * math.cos(u2) * sin_l / sin_s
        cos2a = 1 - sin_a ** 2
        cos2sm = cos_s - 2 * math.sin(u1) * math.sin(u2) / cos2a if cos2a else 0.0
        c = F / 16 * cos2a * (4 + F * (4 - 3 * cos2a))
        previous = lam
        lam = big_l + (1 - c) * F * sin_a * (sigma + c * sin_s * (cos2sm + c * cos_s * (-1 + 2 * cos2sm ** 2)))
        if abs(lam - previous) < 1e-12:
            break
    u_2 = cos2a * (A * A - B * B) / (B * B)
    big_a, big_b = _ab(u_2)
    return B * big_a * (sigma - _delta_sigma(big_b, sin_s, cos_s, cos2sm))


def direct(lat: float, lon: float, bearing_deg: float, distance: float) -> tuple[float, float]:
    """The point `distance` metres from (lat, lon) along the initial bearing (Vincenty direct)."""
    alpha1 = math.radians(bearing_deg)
    u1 = math.atan((1 - F) * math.tan(math.radians(lat)))
    sigma1 = math.atan2(math.tan(u1), math.cos(alpha1))
    sin_a = math.cos(u1) * math.sin(alpha1)
    cos2a = 1 - sin_a ** 2
    big_a, big_b = _ab(cos2a * (A * A - B * B) / (B * B))
    sigma = distance / (B * big_a)
    for _ in range(200):
        cos2sm = math.cos(2 * sigma1 + sigma)
        new = distance / (B * big_a) + _delta_sigma(big_b, math.sin(sigma), math.cos(sigma), cos2sm)
        if abs(new - sigma) < 1e-13:
            sigma = new
            break
        sigma = new
    cos2sm = math.cos(2 * sigma1 + sigma)
    sin_s, cos_s = math.sin(sigma), math.cos(sigma)
    lat2 = math.atan2(math.sin(u1) * cos_s + math.cos(u1) * sin_s * math.cos(alpha1),
                      (1 - F) * math.hypot(sin_a, math.sin(u1) * sin_s - math.cos(u1) * cos_s * math.cos(alpha1)))
    lam = math.atan2(sin_s * math.sin(alpha1), math.cos(u1) * cos_s - math.sin(u1) * sin_s * math.cos(alpha1))
    c = F / 16 * cos2a * (4 + F * (4 - 3 * cos2a))
    big_l = lam - (1 - c) * F * sin_a * (sigma + c * sin_s * (cos2sm + c * cos_s * (-1 + 2 * cos2sm ** 2)))
    return math.degrees(lat2), lon + math.degrees(big_l)
