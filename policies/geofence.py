"""Where was the phone, honestly: map datums, venue geofences and fixes.

Phones report WGS-84. Venue coordinates picked on Chinese maps are GCJ-02 (AMap, Tencent) or
BD-09 (Baidu), offset from WGS-84 by several hundred metres, more than a fence's radius
(POLICY §9). So a fix is converted into the fence's datum before anything is compared, and the
verdict takes the fix's reported accuracy seriously: a check-in counts as at the venue only when
the whole accuracy circle lies inside the fence (凡补必进、不进不补: an hour the system did not
verify never counts, POLICY §1).

Pure: numbers in, values out. No clock, no IO, standard library only.
"""
from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard, cast

from policies.model import Reason

#: Clause cited when the caller passes none; the service passes `policy.verification_clause`
#: (cq 5.2 实时监控、按时打卡, yn 5.4, js 4.2, zj 5) so each region cites its own notice.
DEFAULT_CLAUSE = "POLICY §1"
#: Where the datum rule comes from (venues store a datum; comparisons happen in one datum).
DATUM_CLAUSE = "POLICY §9"

#: An accuracy worse than this is not a location at all (the phone is guessing from cell towers
#: across a city); refusing it as bad input keeps it from reaching the verdict.
MAX_PLAUSIBLE_ACCURACY_M = 100_000.0
#: The largest fence we accept, the same bound the server puts on a venue's radius. The local
#: projection below agrees with the geodesic to a millimetre at 5 km and to 2e-5 of the distance
#: at 100 km (2 m): fence-scale judgements are exact, far-away distances are "约" figures.
MAX_FENCE_EXTENT_M = 100_000.0


class Datum(str, enum.Enum):
    """Map datum of a coordinate; the same strings the server stores."""

    WGS84 = "wgs84"  # GPS, what phone browsers report
    GCJ02 = "gcj02"  # AMap / Tencent maps (国测局坐标)
    BD09 = "bd09"  # Baidu maps

    @classmethod
    def parse(cls, value: Datum | str) -> Datum:
        if isinstance(value, Datum):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise FixError(
                "datum_unknown",
                f"unknown map datum {value!r}: expected wgs84, gcj02 or bd09",
                "坐标系无法识别（应为 wgs84、gcj02 或 bd09），请联系培训机构核对场地坐标",
                DATUM_CLAUSE,
            ) from None


class FixError(ValueError):
    """A location (or fence) that cannot be judged: bad numbers, an unknown datum.

    `code` is stable for the API, `detail` is the Chinese sentence for the phone page, and
    `reason` turns it into the Reason an unverified event carries (fail closed: a bad fix makes
    the check-in unverified, never verified).
    """

    def __init__(self, code: str, message: str, detail: str, clause: str = DEFAULT_CLAUSE):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = detail
        self.clause = clause

    @property
    def reason(self) -> Reason:
        return Reason(self.code, self.clause, self.detail)


class FenceError(ValueError):
    """A venue fence that is not a usable shape; the message names what to fix."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


# --- datum conversion ------------------------------------------------------------------------
# The published GCJ-02 obfuscation ("eviltransform"): Krasovsky 1940 semi-major axis and
# eccentricity squared, and the polynomial offset field around (105 E, 35 N).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def out_of_china(lat: float, lon: float) -> bool:
    """The standard bounding box outside of which GCJ-02 equals WGS-84 (and BD-09 is GCJ-based)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 with the published formula; identity outside mainland China."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _GCJ_EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + dlat, lon + dlon


def _invert(forward: Callable[[float, float], tuple[float, float]], lat: float, lon: float) -> tuple[float, float]:
    """Solve forward(x) = (lat, lon) by fixed-point iteration.

    The offset fields vary by well under 1e-3 per degree, so each step shrinks the error by
    about a thousand: a few steps reach 1e-9 degrees (0.1 mm), far below the 0.5 m required.
    The one-step "subtract the offset" shortcut used by many libraries is off by up to metres.
    """
    x_lat, x_lon = lat, lon
    for _ in range(30):
        f_lat, f_lon = forward(x_lat, x_lon)
        d_lat, d_lon = f_lat - lat, f_lon - lon
        x_lat, x_lon = x_lat - d_lat, x_lon - d_lon
        if abs(d_lat) < 1e-10 and abs(d_lon) < 1e-10:
            break
    return x_lat, x_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 by iterative inversion of the forward formula (< 1 mm)."""
    if out_of_china(lat, lon):
        return lat, lon
    return _invert(wgs84_to_gcj02, lat, lon)


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09 with Baidu's published formula (x_pi = pi * 3000 / 180)."""
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """BD-09 -> GCJ-02: inverse of gcj02_to_bd09.

    Baidu computed its coordinates with the forward formula, so the true GCJ-02 point is the one
    the forward formula maps onto ours; the published closed-form inverse is a first-order
    approximation (centimetres off), which we use as the start and refine.
    """
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    g_lat, g_lon = z * math.sin(theta), z * math.cos(theta)
    for _ in range(10):
        b_lat, b_lon = gcj02_to_bd09(g_lat, g_lon)
        d_lat, d_lon = b_lat - lat, b_lon - lon
        g_lat, g_lon = g_lat - d_lat, g_lon - d_lon
        if abs(d_lat) < 1e-10 and abs(d_lon) < 1e-10:
            break
    return g_lat, g_lon


def convert(lat: float, lon: float, source: Datum | str, target: Datum | str) -> tuple[float, float]:
    """(lat, lon) from one datum to another, through GCJ-02 when needed."""
    source, target = Datum.parse(source), Datum.parse(target)
    if source is target:
        return lat, lon
    if source is Datum.BD09:
        lat, lon = bd09_to_gcj02(lat, lon)
    elif source is Datum.WGS84:
        lat, lon = wgs84_to_gcj02(lat, lon)
    # now in GCJ-02
    if target is Datum.GCJ02:
        return lat, lon
    if target is Datum.BD09:
        return gcj02_to_bd09(lat, lon)
    return gcj02_to_wgs84(lat, lon)


# --- distances on the ellipsoid, locally -------------------------------------------------------
_WGS_A = 6378137.0
_WGS_E2 = 0.00669437999014  # the datums differ by an obfuscation, not by an ellipsoid at fence scale


def _radii(lat: float) -> tuple[float, float]:
    """Meridional (north-south) and prime-vertical radii of curvature at `lat`, in metres."""
    s = math.sin(math.radians(lat))
    w = math.sqrt(1 - _WGS_E2 * s * s)
    return _WGS_A * (1 - _WGS_E2) / (w ** 3), _WGS_A / w


def _local(origin: tuple[float, float], point: tuple[float, float]) -> tuple[float, float]:
    """(east, north) metres of `point` from `origin`, radii taken at the mid-latitude.

    Mid-latitude equirectangular on the ellipsoid agrees with the geodesic to millimetres at
    fence scale (a few km), unlike a spherical haversine, which is off by up to 0.5%.
    """
    mid = (origin[0] + point[0]) / 2
    m, n = _radii(mid)
    dlon = (point[1] - origin[1] + 540.0) % 360.0 - 180.0  # shortest way round the antimeridian
    return (math.radians(dlon) * n * math.cos(math.radians(mid)), math.radians(point[0] - origin[0]) * m)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres between two (lat, lon) in the same datum, accurate at fence scale."""
    east, north = _local(a, b)
    return math.hypot(east, north)


# --- fixes and fences ------------------------------------------------------------------------


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_lat_lon(lat: object, lon: object, error: Callable[[str, str], ValueError]) -> None:
    if not _finite(lat) or not _finite(lon):
        raise error("coordinates_invalid", f"latitude/longitude must be finite numbers, got ({lat!r}, {lon!r})")
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lon <= 180.0:
        raise error("coordinates_out_of_range", f"latitude must be in [-90, 90] and longitude in [-180, 180], got ({lat}, {lon})")


def _fix_error(code: str, message: str) -> FixError:
    details = {
        "coordinates_invalid": "定位数据无效，请开启定位权限后重试",
        "coordinates_out_of_range": "定位数据超出范围，请关闭模拟定位、开启精确定位后重试",
    }
    return FixError(code, message, details[code])


@dataclass(frozen=True)
class Fix:
    """One location reading from a phone: where, how sure (metres, the radius of the accuracy
    circle the browser reports), in which datum (phones report WGS-84).

    Construction refuses numbers that are not a location (NaN, out of range, negative or absurd
    accuracy) with a FixError carrying a code. An accuracy of exactly 0 is kept: no real receiver
    reports it, so it is evidence (a mocked location) for fix_signals, and locate() refuses it.
    """

    lat: float
    lon: float
    accuracy_m: float
    datum: Datum = Datum.WGS84

    def __post_init__(self) -> None:
        _check_lat_lon(self.lat, self.lon, _fix_error)
        if not _finite(self.accuracy_m):
            raise FixError("accuracy_invalid", f"accuracy must be a finite number, got {self.accuracy_m!r}",
                           "定位精度数据无效，请开启精确定位后重试")
        if self.accuracy_m < 0:
            raise FixError("accuracy_invalid", f"accuracy cannot be negative, got {self.accuracy_m}",
                           "定位精度数据无效，请开启精确定位后重试")
        if self.accuracy_m > MAX_PLAUSIBLE_ACCURACY_M:
            raise FixError("accuracy_absurd",
                           f"accuracy {self.accuracy_m:g} m is not a location (more than {MAX_PLAUSIBLE_ACCURACY_M:g} m)",
                           f"定位精度约 {_km_text(self.accuracy_m)}，无法确认位置，请到室外或开启精确定位后重试")
        object.__setattr__(self, "datum", Datum.parse(self.datum))

    def in_datum(self, datum: Datum | str) -> tuple[float, float]:
        return convert(self.lat, self.lon, self.datum, datum)


def _fence_error(code: str, message: str) -> FenceError:
    return FenceError(code, message)


def _fence_datum(value: Datum | str) -> Datum:
    try:
        return Datum.parse(value)
    except FixError as e:
        raise FenceError("datum_unknown", f"unknown map datum {value!r}: expected wgs84, gcj02 or bd09") from e


@dataclass(frozen=True)
class Circle:
    """A circular geofence: centre and radius in metres, centre in `datum`."""

    lat: float
    lon: float
    radius_m: float
    datum: Datum = Datum.GCJ02

    def __post_init__(self) -> None:
        _check_lat_lon(self.lat, self.lon, _fence_error)
        if not _finite(self.radius_m) or self.radius_m <= 0:
            raise FenceError("radius_invalid", f"radius must be a positive number of metres, got {self.radius_m!r}")
        if self.radius_m > MAX_FENCE_EXTENT_M:
            raise FenceError("fence_too_large", f"radius {self.radius_m:g} m exceeds {MAX_FENCE_EXTENT_M:g} m")
        object.__setattr__(self, "datum", _fence_datum(self.datum))

    @property
    def area_m2(self) -> float:
        return math.pi * self.radius_m ** 2

    @property
    def extent_m(self) -> float:
        """How far the fence reaches from its centre: the radius."""
        return self.radius_m

    def signed_distance_m(self, lat: float, lon: float) -> float:
        """Metres from (lat, lon) in this fence's datum to the boundary: negative inside."""
        return distance_m((lat, lon), (self.lat, self.lon)) - self.radius_m


def _segments_cross(p1: tuple[float, float], p2: tuple[float, float], q1: tuple[float, float], q2: tuple[float, float]) -> bool:
    def orient(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    return ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4)


def _point_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


@dataclass(frozen=True)
class Polygon:
    """A polygon geofence: vertices [(lat, lon), ...] in `datum`, at least 3, in either order.

    A closing vertex equal to the first is dropped. Self-crossing or flat outlines are refused:
    "inside" would not mean anything on them.
    """

    points: tuple[tuple[float, float], ...]
    datum: Datum = Datum.GCJ02

    def __post_init__(self) -> None:
        try:
            points = tuple((p[0], p[1]) for p in self.points)
            if any(len(p) != 2 for p in self.points):
                raise TypeError
        except (TypeError, IndexError, KeyError):
            raise FenceError("polygon_invalid", "points must be a sequence of (lat, lon) pairs") from None
        for lat, lon in points:
            _check_lat_lon(lat, lon, _fence_error)
        if len(points) > 1 and points[0] == points[-1]:
            points = points[:-1]
        if len(points) < 3:
            raise FenceError("polygon_too_few_points", f"a polygon needs at least 3 distinct points, got {len(points)}")
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "datum", _fence_datum(self.datum))
        origin = self._origin()
        xy = [_local(origin, p) for p in points]
        if max(math.hypot(*v) for v in xy) > MAX_FENCE_EXTENT_M:
            raise FenceError("fence_too_large", f"polygon reaches more than {MAX_FENCE_EXTENT_M:g} m from its centre")
        area = sum(xy[i][0] * xy[i - 1][1] - xy[i - 1][0] * xy[i][1] for i in range(len(xy))) / 2
        if abs(area) < 1.0:
            raise FenceError("polygon_degenerate", "the polygon has (almost) no area: are the points on one line?")
        n = len(xy)
        for i in range(n):
            for j in range(i + 1, n):
                if j == i + 1 or (i == 0 and j == n - 1):
                    continue  # neighbours share a vertex
                if _segments_cross(xy[i], xy[(i + 1) % n], xy[j], xy[(j + 1) % n]):
                    raise FenceError("polygon_self_intersecting", f"edges {i} and {j} of the polygon cross each other")

    def _origin(self) -> tuple[float, float]:
        return (sum(p[0] for p in self.points) / len(self.points), sum(p[1] for p in self.points) / len(self.points))

    @property
    def area_m2(self) -> float:
        xy = [_local(self._origin(), p) for p in self.points]
        return abs(sum(xy[i][0] * xy[i - 1][1] - xy[i - 1][0] * xy[i][1] for i in range(len(xy))) / 2)

    @property
    def extent_m(self) -> float:
        """How far the fence reaches from its centre (the vertices' mean): the radius of a disc
        around that centre holding the whole polygon (at least its smallest enclosing circle's)."""
        origin = self._origin()
        return max(math.hypot(*_local(origin, p)) for p in self.points)

    def signed_distance_m(self, lat: float, lon: float) -> float:
        """Metres from (lat, lon) in this fence's datum to the boundary: negative inside."""
        # Work in metres around the fix itself: distances from the fix are what we need exactly.
        origin = (lat, lon)
        xy = [_local(origin, p) for p in self.points]
        p = (0.0, 0.0)
        n = len(xy)
        nearest = min(_point_segment(p, xy[i], xy[(i + 1) % n]) for i in range(n))
        inside = False
        for i in range(n):
            (x1, y1), (x2, y2) = xy[i], xy[(i + 1) % n]
            if (y1 > 0) != (y2 > 0) and 0 < x1 + (0 - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return -nearest if inside else nearest


Fence = Circle | Polygon


# --- the verdict -----------------------------------------------------------------------------


class Verdict(str, enum.Enum):
    INSIDE = "inside"  # the whole accuracy circle fits the fence: verified
    OUTSIDE = "outside"  # none of the accuracy circle touches the fence
    UNCERTAIN = "uncertain"  # the circle straddles the boundary: cannot say, so not verified
    TOO_INACCURATE = "too_inaccurate"  # accuracy worse than the venue allows


@dataclass(frozen=True)
class FenceCheck:
    """The answer for one fix against one fence.

    `distance_m` is from the fix's centre to the fence boundary, positive outside, negative
    inside (how deep), so the phone can say "您距离培训场地约 230 米". `lat`/`lon` are the fix in
    the fence's datum, the coordinates that were compared (kept as evidence).
    """

    verdict: Verdict
    distance_m: float
    accuracy_m: float
    max_accuracy_m: float
    datum: Datum
    lat: float
    lon: float
    reasons: tuple[Reason, ...] = ()

    @property
    def verified(self) -> bool:
        return self.verdict is Verdict.INSIDE

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "verified": self.verified,
            "distance_m": round(self.distance_m, 1),
            "accuracy_m": self.accuracy_m,
            "max_accuracy_m": self.max_accuracy_m,
            "datum": self.datum.value,
            "lat": self.lat,
            "lon": self.lon,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def _m_text(metres: float) -> str:
    """A distance for a sentence: "230 米", "1.2 公里"; rounded, never shown as more precise than it is."""
    if metres < 10:
        return f"{max(1, round(metres))} 米"
    if metres < 995:
        return f"{int(round(metres / 10.0)) * 10} 米"
    return _km_text(metres)


def _km_text(metres: float) -> str:
    km = metres / 1000.0
    return f"{km:.1f} 公里" if km < 100 else f"{km:.0f} 公里"


def _accuracy_text(metres: float) -> str:
    return f"{metres:.0f} 米" if metres >= 1 else f"{metres:g} 米"


def locate(fix: Fix, fence: Fence, max_accuracy_m: float, *, clause: str = DEFAULT_CLAUSE) -> FenceCheck:
    """Judge one fix against one fence.

    The fix is converted into the fence's datum first: the GCJ-02 offset is hundreds of metres,
    more than a fence. Then, with d the distance from the fix to the boundary (negative inside)
    and a the accuracy radius: inside when d <= -a (the whole circle fits), outside when d >= a
    (none of it does), uncertain in between. A fix less accurate than `max_accuracy_m` is
    too_inaccurate whatever its position: it cannot prove presence (fail closed).

    Raises FixError (with `.reason`) for an accuracy of 0, which no real receiver reports.
    """
    if not isinstance(fix, Fix):
        raise TypeError(f"fix must be a Fix, got {type(fix).__name__}")
    if not isinstance(fence, (Circle, Polygon)):
        raise TypeError(f"fence must be a Circle or a Polygon, got {type(fence).__name__}")
    if not _finite(max_accuracy_m) or max_accuracy_m <= 0:
        raise ValueError(f"max_accuracy_m must be a positive number of metres, got {max_accuracy_m!r}")
    if fix.accuracy_m <= 0:
        raise FixError("accuracy_zero", "an accuracy of exactly 0 m is not a real reading (mocked location?)",
                       "定位精度为 0，不是真实的定位结果，请关闭模拟定位、开启精确定位后重试", clause)
    lat, lon = fix.in_datum(fence.datum)
    d = fence.signed_distance_m(lat, lon)
    a = fix.accuracy_m
    reasons: list[Reason] = []
    if a > max_accuracy_m:
        verdict = Verdict.TOO_INACCURATE
        reasons.append(Reason(
            "too_inaccurate", clause,
            f"定位精度 {_accuracy_text(a)}，超过 {_accuracy_text(max_accuracy_m)}要求，请到室外或开启精确定位后重试"))
    elif d <= -a:
        verdict = Verdict.INSIDE
    elif d >= a:
        verdict = Verdict.OUTSIDE
        reasons.append(Reason(
            "outside_fence", clause,
            f"您距离培训场地约 {_m_text(d)}，请到培训场地内签到"))
    else:
        verdict = Verdict.UNCERTAIN
        where = f"距离场地边界约 {_m_text(abs(d))}" if abs(d) >= 1 else "位于场地边界上"
        reasons.append(Reason(
            "fence_uncertain", clause,
            f"定位精度 {_accuracy_text(a)}，{where}，无法确认是否在培训场地内，请走到场地内部或到室外后重试"))
    return FenceCheck(verdict, d, a, float(max_accuracy_m), fence.datum, lat, lon, tuple(reasons))


# --- fraud signals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalSettings:
    """Thresholds for fix_signals.

    - max_speed_kmh: 200 km/h, faster than any road trip between two check-ins, slower than a
      plane, so a trainee who flew in is flagged and a driver is not.
    - min_accuracy_m: a phone indoors reports 5-50 m (iPhones 5 m at best, outdoors); below 3 m
      is what mock-location apps report (0.01 m, 1 m), not a receiver in a classroom.
    - same_accuracy_run: real readings vary in accuracy from one fix to the next; the same value
      on this many fixes in a row (this one included) is a mocked or replayed location. Beware:
      iPhones round accuracy to a few values (5, 10, 65 m), so this flags some honest iPhones for
      review; raise it where that costs reviewers too much.
    - repeat_tolerance_m: two fixes closer than this after conversion to WGS-84 are the same
      coordinates (a real receiver jitters by decimetres; the datum conversions agree to 0.1 mm).
    """

    max_speed_kmh: float = 200.0
    clause: str = DEFAULT_CLAUSE
    min_accuracy_m: float = 3.0
    same_accuracy_run: int = 3
    repeat_tolerance_m: float = 0.01

    def __post_init__(self) -> None:
        if not _finite(self.max_speed_kmh) or self.max_speed_kmh <= 0:
            raise ValueError(f"max_speed_kmh must be positive, got {self.max_speed_kmh!r}")
        if not _finite(self.min_accuracy_m) or self.min_accuracy_m < 0:
            raise ValueError(f"min_accuracy_m must be a number of metres >= 0, got {self.min_accuracy_m!r}")
        if not isinstance(self.same_accuracy_run, int) or self.same_accuracy_run < 2:
            raise ValueError(f"same_accuracy_run must be a whole number >= 2, got {self.same_accuracy_run!r}")
        if not _finite(self.repeat_tolerance_m) or self.repeat_tolerance_m < 0:
            raise ValueError(f"repeat_tolerance_m must be a number of metres >= 0, got {self.repeat_tolerance_m!r}")


def _aware(at: datetime, name: str) -> None:
    if not isinstance(at, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (store UTC, show Asia/Shanghai), got {at.isoformat()}")


def _duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} 秒"
    if seconds < 3600:
        return f"{seconds / 60:.0f} 分钟"
    return f"{seconds / 3600:.1f} 小时"


def same_place(a: Fix, b: Fix, tolerance_m: float = 0.01) -> bool:
    """Whether two fixes carry the same coordinates whatever datum each is labelled with: the
    same digits (under any label), or the same place once both are converted to WGS-84."""
    if a.lat == b.lat and a.lon == b.lon:
        return True
    return distance_m(a.in_datum(Datum.WGS84), b.in_datum(Datum.WGS84)) <= tolerance_m


def fix_signals(
    fix: Fix,
    previous: tuple[Fix, datetime] | None,
    at: datetime,
    settings: SignalSettings = SignalSettings(),
    *,
    earlier: Sequence[Fix] = (),
) -> tuple[Reason, ...]:
    """Signs that a fix is not a real reading, for review (not an automatic rejection).

    `previous` is the trainee's last fix with its server time; `earlier` their fixes before it,
    newest first (the service passes the last few).

    - accuracy_zero: accuracy reported as exactly 0 (no receiver does; mock-location apps do).
    - accuracy_implausible: above 0 but below `min_accuracy_m` (0.01 m: a mock, not a phone).
    - accuracy_repeated: the same accuracy on the last `same_accuracy_run` fixes, this one included.
    - replayed_fix: the same coordinates as one of the trainee's earlier fixes, whatever datum
      either is labelled with (the same digits, or the same place after converting both to
      WGS-84); real readings jitter, a replayed or mocked location does not.
    - impossible_travel: faster than `max_speed_kmh` since the previous fix. Both accuracy
      circles are given the benefit of the doubt (the nearest points of the two circles are
      compared), so GPS jitter is never "travel".
    """
    _aware(at, "at")
    reasons: list[Reason] = []
    clause = settings.clause
    if fix.accuracy_m == 0:
        reasons.append(Reason("accuracy_zero", clause, "定位精度报告为 0 米，疑似模拟定位，需人工复核"))
    elif fix.accuracy_m < settings.min_accuracy_m:
        reasons.append(Reason(
            "accuracy_implausible", clause,
            f"定位精度报告为 {_accuracy_text(fix.accuracy_m)}，手机在室内达不到（低于 {_accuracy_text(settings.min_accuracy_m)}），"
            "疑似模拟定位，需人工复核；请关闭模拟定位类软件后签到"))
    history = ([previous[0]] if previous is not None else []) + list(earlier)
    run = [fix, *history][:settings.same_accuracy_run]
    if len(run) == settings.same_accuracy_run and len({f.accuracy_m for f in run}) == 1:
        reasons.append(Reason(
            "accuracy_repeated", clause,
            f"最近 {len(run)} 次定位的精度都是 {_accuracy_text(fix.accuracy_m)}，真实定位每次会有变化，"
            "疑似模拟或重放定位，需人工复核；请关闭模拟定位类软件后签到"))
    for n, old in enumerate(history, start=1):
        if same_place(old, fix, settings.repeat_tolerance_m):
            which = "上次定位" if n == 1 else f"前第 {n} 次定位"
            reasons.append(Reason("replayed_fix", clause,
                                  f"本次定位与{which}坐标完全相同（换算到同一坐标系比较），疑似重放或模拟定位，需人工复核"))
            break
    if previous is None:
        return tuple(reasons)
    prev_fix, prev_at = previous
    _aware(prev_at, "previous fix time")
    elapsed = (at - prev_at).total_seconds()
    # Compare in the previous fix's datum translated to the current one (normally both WGS-84).
    d = distance_m(prev_fix.in_datum(fix.datum), (fix.lat, fix.lon))
    travelled = max(0.0, d - prev_fix.accuracy_m - fix.accuracy_m)
    if travelled > 0:
        limit_ms = settings.max_speed_kmh / 3.6
        if elapsed <= 0 or travelled / elapsed > limit_ms:
            speed = "" if elapsed <= 0 else f"（约 {travelled / elapsed * 3.6:.0f} 公里/小时）"
            when = "同一时刻" if elapsed <= 0 else f"仅隔 {_duration_text(elapsed)}"
            reasons.append(Reason(
                "impossible_travel", clause,
                f"距上次定位约 {_m_text(d)}，{when}{speed}，超过 {settings.max_speed_kmh:g} 公里/小时，"
                "疑似虚假定位，需人工复核"))
    return tuple(reasons)


# --- what the server trusts of the client's claims ---------------------------------------------


def datum_claim_reason(claimed: str, accepted: Sequence[Datum | str], *, clause: str = DATUM_CLAUSE) -> Reason | None:
    """Refuse a datum label the deployment does not accept from phones (None: accepted).

    A browser's Geolocation API reports WGS-84 and nothing else, so a fix labelled GCJ-02 or
    BD-09 comes from something other than the phone app (a WGS-84 reading relabelled gcj02
    lands about 500 m away, which can be inside a fence the phone is not in). A deployment
    whose own client converts may accept more labels; by default only wgs84.
    """
    label = str(claimed).strip().lower()
    allowed = [Datum.parse(d).value for d in accepted]
    if label in allowed:
        return None
    return Reason("datum_not_accepted", clause,
                  f"定位坐标系“{claimed}”不被接受（只接受手机浏览器定位的 {'、'.join(a.upper() for a in allowed)} 坐标）："
                  "请关闭改定位或代签类软件，直接在手机浏览器中打开签到页面、允许获取位置后重新签到")


def fix_time_reasons(fix_at: datetime | None, now: datetime, max_age_s: float, clock_skew_s: float,
                     *, clause: str = DEFAULT_CLAUSE) -> tuple[Reason, ...]:
    """Refuse a fix that is not from now, by the server's clock.

    The phone says when it took the fix (`fix_at`, from the Geolocation API's timestamp). A fix
    older than `max_age_s` may have been taken somewhere else (a cached or saved position); one
    later than the server's clock by more than `clock_skew_s` is from a phone whose clock is
    wrong, so its age means nothing. No time at all is not a fix that can be dated: refused.
    """
    _aware(now, "now")
    if fix_at is None:
        return (Reason("fix_time_missing", clause,
                       "没有收到定位时间，无法确认是本次获取的位置：请刷新签到页面（或更新浏览器）后重新签到"),)
    _aware(fix_at, "fix_at")
    age = (now - fix_at).total_seconds()
    if age > max_age_s:
        return (Reason("fix_stale", clause,
                       f"位置是 {_duration_text(age)}前获取的，超过 {max_age_s:g} 秒的要求：请重新签到，"
                       "让手机重新获取当前位置；如果手机时间不准，请在设置中把时间设为“自动设置”"),)
    if -age > clock_skew_s:
        return (Reason("fix_in_future", clause,
                       f"定位时间比服务器时间晚 {_duration_text(-age)}，手机时间不准：请在手机设置中把日期和时间设为“自动设置”后重新签到"),)
    return ()


# --- is a fence plausible for its venue? ------------------------------------------------------

#: Where the fence's bounds come from: settings the notices leave open (POLICY §9).
FENCE_CLAUSE = "POLICY §9"
#: A floor plan is not a disc. The smallest disc around an L x W rectangle has pi (L² + W²) / 4 of
#: area: 1.57 x the floor for a square room, 4 x for a hall 4.9 times longer than wide. So the
#: venue is taken as a disc of 4 x its declared area: any ordinary room, hall or workshop fits.
FENCE_AREA_FACTOR = 4.0


@dataclass(frozen=True)
class FenceLimits:
    """How far a venue's fence may reach from its centre.

    - max_extent_m: never further than this, whatever area is declared (a room, a hall or a
      workshop; a campus is several venues).
    - margin_m: what the fence may add around the venue for GPS error. locate() verifies a fix
      only when its whole accuracy circle is inside the fence, so the venue grown by the worst
      accuracy a venue accepts (50 m by default, Venue.max_accuracy_m) lets a trainee anywhere
      in the venue verify with that accuracy; a larger fence only lets people outside verify.

    So the bound is sqrt(area_factor x area / pi) + margin_m, at most max_extent_m: for a 420 m²
    room 23 m + 50 m = 73 m (a fence area of 16,800 m²); for 4,000 m², 121 m.
    """

    max_extent_m: float = 300.0
    margin_m: float = 50.0
    area_factor: float = FENCE_AREA_FACTOR

    def __post_init__(self) -> None:
        for name in ("max_extent_m", "margin_m", "area_factor"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")

    def max_extent_for(self, declared_area_m2: float) -> float:
        """The farthest a fence of a venue of this declared area may reach from its centre."""
        return min(self.max_extent_m, math.sqrt(self.area_factor * declared_area_m2 / math.pi) + self.margin_m)


@dataclass(frozen=True)
class FencePlausibility:
    """Whether a fence fits its venue: the reasons it does not (empty: it does) and the figures."""

    reasons: tuple[Reason, ...]
    measures: dict[str, object]

    @property
    def plausible(self) -> bool:
        return not self.reasons


def fence_plausibility(fence: Fence, declared_area_m2: float | None, limits: FenceLimits = FenceLimits(),
                       *, clause: str = FENCE_CLAUSE) -> FencePlausibility:
    """Judge a venue's fence against the limits and the venue's declared floor area.

    A fence reaching further from its centre than FenceLimits allows is refused (a 100 km circle
    for a 420 m² room makes every check-in within 100 km "inside"). A polygon is held to the same
    bound through the disc around its centre that holds it, which also bounds its area (at most
    pi x bound²). Without a declared area nothing can be compared, so the fence is not plausible.
    """
    extent = fence.extent_m
    measures: dict[str, object] = {
        "fence_kind": "circle" if isinstance(fence, Circle) else "polygon", "fence_extent_m": round(extent, 1),
        "fence_area_m2": round(fence.area_m2), "declared_area_m2": declared_area_m2,
        "max_extent_m": limits.max_extent_m, "margin_m": limits.margin_m, "area_factor": limits.area_factor,
    }
    reasons: list[Reason] = []
    if extent > limits.max_extent_m:
        reasons.append(Reason(
            "fence_too_large", clause,
            f"场地围栏最远距中心约 {_m_text(extent)}，超过 {_m_text(limits.max_extent_m)} 的上限："
            "请按场地实际范围重新划定围栏"))
    if declared_area_m2 is None or not _finite(declared_area_m2) or declared_area_m2 <= 0:
        reasons.append(Reason(
            "venue_area_missing", clause,
            "场地未填写面积，无法核对围栏与场地是否相符：请填写场地面积（平方米）后再提交区县人社审核"))
        return FencePlausibility(tuple(reasons), measures)
    bound = limits.max_extent_for(declared_area_m2)
    measures["allowed_extent_m"] = round(bound, 1)
    if limits.max_extent_m >= extent > bound:
        reasons.append(Reason(
            "fence_exceeds_venue", clause,
            f"场地面积 {declared_area_m2:g} 平方米，围栏最远只能距中心约 {_m_text(bound)}（含 {limits.margin_m:g} 米定位误差余量），"
            f"实际约 {_m_text(extent)}：请按场地实际范围缩小围栏，或核实场地面积"))
    return FencePlausibility(tuple(reasons), measures)


def fence_from_record(kind: str, datum: Datum | str, *, lat: float | None = None, lon: float | None = None,
                      radius_m: float | None = None, points: Sequence[Sequence[float]] | None = None) -> Fence:
    """Build a fence from the venue's stored fields (kind "circle" or "polygon")."""
    if kind == "circle":
        if lat is None or lon is None or radius_m is None:
            raise FenceError("circle_incomplete", "a circle needs lat, lon and radius_m")
        return Circle(lat, lon, radius_m, Datum.parse(datum))
    if kind == "polygon":
        if points is None:
            raise FenceError("polygon_incomplete", "a polygon needs points")
        # Pairs by cast only: Polygon refuses a point that is not a (lat, lon) pair itself.
        pairs = cast("tuple[tuple[float, float], ...]", tuple(tuple(p) for p in points))
        return Polygon(pairs, Datum.parse(datum))
    raise FenceError("fence_kind_unknown", f"unknown fence kind {kind!r}: expected circle or polygon")
