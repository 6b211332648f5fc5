"""Closed vocabularies stored in the database (values are the API and database spelling)."""
from __future__ import annotations

import enum


class Role(str, enum.Enum):
    trainee = "trainee"
    teacher = "teacher"
    institution_admin = "institution_admin"
    district_supervisor = "district_supervisor"
    city_reviewer = "city_reviewer"
    admin = "admin"


class Datum(str, enum.Enum):
    """Map datum of stored coordinates. Phones report WGS-84; AMap/Tencent pick GCJ-02, Baidu
    BD-09; the offsets are hundreds of metres, more than a geofence (POLICY.md section 9)."""

    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


class FenceKind(str, enum.Enum):
    circle = "circle"
    polygon = "polygon"


class Level(str, enum.Enum):
    junior = "junior"  # 初级
    mid = "mid"  # 中级
    senior = "senior"  # 高级


class LessonMode(str, enum.Enum):
    offline = "offline"
    online = "online"


class LessonContent(str, enum.Enum):
    theory = "theory"
    practice = "practice"


class Funding(str, enum.Enum):
    subsidised = "subsidised"  # 补贴性培训
    self_paid = "self_paid"  # 自主(自费)培训


class ClassStatus(str, enum.Enum):
    draft = "draft"
    filed = "filed"  # plan accepted by the rules; changes only through a recorded amendment


class EmploymentAtStart(str, enum.Enum):
    employed = "employed"
    not_employed = "not_employed"
    unknown = "unknown"


class EmploymentAfter(str, enum.Enum):
    employed = "employed"  # unit insurance or employment registration after training
    unemployed = "unemployed"
    unknown = "unknown"


class Sex(str, enum.Enum):
    male = "male"
    female = "female"
