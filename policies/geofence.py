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
    """Thresholds for fix_signals. 200 km/h: faster than any road trip between two check-ins,
    slower than a plane, so a trainee who flew in is flagged and a driver is not."""

    max_speed_kmh: float = 200.0
    clause: str = DEFAULT_CLAUSE

    def __post_init__(self) -> None:
        if not _finite(self.max_speed_kmh) or self.max_speed_kmh <= 0:
            raise ValueError(f"max_speed_kmh must be positive, got {self.max_speed_kmh!r}")


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


def fix_signals(
    fix: Fix,
    previous: tuple[Fix, datetime] | None,
    at: datetime,
    settings: SignalSettings = SignalSettings(),
) -> tuple[Reason, ...]:
    """Signs that a fix is not a real reading, for review (not an automatic rejection).

    - accuracy_zero: accuracy reported as exactly 0 (no receiver does; mock-location apps do).
    - replayed_fix: the same coordinates as the trainee's previous fix to the last digit; real
      readings jitter in the last decimals, a replayed or mocked location does not.
    - impossible_travel: faster than `max_speed_kmh` since the previous fix. Both accuracy
      circles are given the benefit of the doubt (the nearest points of the two circles are
      compared), so GPS jitter is never "travel".
    """
    _aware(at, "at")
    reasons: list[Reason] = []
    clause = settings.clause
    if fix.accuracy_m == 0:
        reasons.append(Reason("accuracy_zero", clause, "定位精度报告为 0 米，疑似模拟定位，需人工复核"))
    if previous is None:
        return tuple(reasons)
    prev_fix, prev_at = previous
    _aware(prev_at, "previous fix time")
    if prev_fix.datum is fix.datum and prev_fix.lat == fix.lat and prev_fix.lon == fix.lon:
        reasons.append(Reason("replayed_fix", clause,
                              "本次定位与上次定位坐标完全相同，疑似重放或模拟定位，需人工复核"))
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
