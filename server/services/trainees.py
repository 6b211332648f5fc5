"""Trainees: enrolling one, importing many from a spreadsheet, and recording biometric consent
(the notice and the "in force" rule are in services/consent.py)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from policies import identity
from server.errors import ApiError
from server.models import Consent, EmploymentAfter, EmploymentAtStart, Enrollment, Role, Trainee, User
from server.models.people import MOBILE, mask_resident_id
from server.permissions import Capability
from server.services import accounts, audit, faces
from server.services.consent import CONSENT_SHA256, CONSENT_VERSION
from server.services.names import pinyin_key
from server.services.scope import Actor, require, trainee_institution, visible_class, visible_trainee, writable_class


def enroll(session: Session, actor: Actor, class_id: int, data, now: datetime) -> tuple[Enrollment, str | None]:
    """Enrol a person in a class (creating the trainee and their account when new).
    Returns the enrollment and, for a new account, its one-time activation code."""
    cls = writable_class(session, actor, class_id, Capability.ENROL_TRAINEES)
    try:
        parsed = identity.parse_resident_id(data.resident_id)
    except ValueError as exc:
        zh = getattr(exc, "zh", "身份证号码格式不正确，请核对")
        raise ApiError(422, "invalid_resident_id", zh, fields=[{"field": "resident_id", "message": zh}]) from None
    trainee = session.scalar(select(Trainee).where(Trainee.resident_id == parsed.number))
    if trainee is None:
        trainee = Trainee(resident_id=parsed.number, name=data.name, phone=data.phone)
        session.add(trainee)
        session.flush()
    elif trainee.name != data.name:
        raise ApiError(409, "name_mismatch", f"身份证号 {mask_resident_id(parsed.number)} 已登记为另一姓名，请核对",
                       fields=[{"field": "name", "message": "与该身份证号已登记的姓名不一致"}])
    if session.scalar(select(Enrollment).where(Enrollment.class_id == cls.id, Enrollment.trainee_id == trainee.id)):
        raise ApiError(409, "already_enrolled", f"{data.name} 已在该培训班中")
    enrollment = Enrollment(
        class_id=cls.id, trainee_id=trainee.id, subsidy_category=data.subsidy_category,
        employment_at_start=data.employment_at_start, employment_after=data.employment_after, enrolled_at=now,
    )
    session.add(enrollment)
    session.flush()
    code = None
    if session.scalar(select(User).where(User.trainee_id == trainee.id)) is None:
        username = trainee.phone or trainee.resident_id
        _, code = accounts.create_user(session, actor, username=username, role=Role.trainee,
                                       display_name=trainee.name, trainee_id=trainee.id)
    audit.record(session, actor, "enrollment.create", "enrollment", enrollment.id, None,
                 {"class_id": cls.id, "trainee_id": trainee.id, "resident_id": mask_resident_id(trainee.resident_id)},
                 institution_id=cls.institution_id)
    return enrollment, code


def enrollments(session: Session, actor: Actor, class_id: int) -> list[tuple[Enrollment, Trainee]]:
    cls = visible_class(session, actor, class_id)
    q = (select(Enrollment, Trainee).join(Trainee, Enrollment.trainee_id == Trainee.id)
         .where(Enrollment.class_id == cls.id).order_by(Enrollment.id))
    if actor.role is Role.trainee:
        q = q.where(Trainee.id == actor.trainee_id)
    # The class list in pinyin order of the names (a roll's order), not by code point.
    return sorted(((e, t) for e, t in session.execute(q)), key=lambda et: (pinyin_key(et[1].name), et[0].id))


def trainee_json(trainee: Trainee, actor: Actor) -> dict:
    own = actor.role is Role.trainee and actor.trainee_id == trainee.id
    return {
        "id": trainee.id, "name": trainee.name,
        "resident_id": trainee.resident_id if (actor.sees_full_resident_ids or own) else mask_resident_id(trainee.resident_id),
        "phone": trainee.phone if (actor.sees_full_resident_ids or own)
        else (trainee.phone[:3] + "****" + trainee.phone[-4:] if trainee.phone else None),
        "birth_date": trainee.birth_date.isoformat() if (actor.sees_full_resident_ids or own) else None,
        "sex": trainee.sex.value,
    }


def enrollment_json(e: Enrollment, t: Trainee, actor: Actor, readiness: dict | None = None) -> dict:
    return {
        "id": e.id, "class_id": e.class_id, "trainee": trainee_json(t, actor), "subsidy_category": e.subsidy_category,
        "employment_at_start": e.employment_at_start.value, "employment_after": e.employment_after.value,
        "enrolled_at": e.enrolled_at.isoformat(), **(readiness or {}),
    }


def readiness(session: Session, trainee_ids: list[int]) -> dict[int, dict]:
    """Whether each trainee can check in by face: biometric consent in force and a face enrolled
    (a template in force; ``face_held``: one waits for 人社's review). Staff see it in the roll, so
    nobody learns it only at the door."""
    from server.models import FaceTemplate

    latest: dict[int, Consent] = {}
    for c in session.scalars(select(Consent).where(Consent.trainee_id.in_(trainee_ids), Consent.purpose == "biometric")
                             .order_by(Consent.id)):
        latest[c.trainee_id] = c
    enrolled = set(session.scalars(select(FaceTemplate.trainee_id).where(FaceTemplate.trainee_id.in_(trainee_ids),
                                                                         faces.in_force())))
    held = set(session.scalars(select(FaceTemplate.trainee_id).where(FaceTemplate.trainee_id.in_(trainee_ids),
                                                                     faces.held_undecided())))
    return {tid: {"consent": None if tid not in latest else ("granted" if latest[tid].granted else "withdrawn"),
                  "face_enrolled": tid in enrolled, "face_held": tid in held} for tid in trainee_ids}


# --- import ------------------------------------------------------------------------------------

#: Accepted column headings (Chinese as institutions write them, and the API names).
COLUMNS = {
    "name": ("姓名", "name"),
    "resident_id": ("身份证号", "身份证号码", "公民身份号码", "resident_id"),
    "phone": ("手机号", "手机号码", "手机", "联系电话", "phone"),
    "class_id": ("班级编号", "培训班编号", "class_id"),
    "subsidy_category": ("补贴类别", "人员类别", "subsidy_category"),
    "employment_at_start": ("培训前就业状态", "employment_at_start"),
}
EMPLOYMENT_WORDS = {"在职": "employed", "已就业": "employed", "未就业": "not_employed", "失业": "not_employed",
                    "": "unknown", "未知": "unknown"}
MAX_IMPORT_ROWS = 5000


@dataclass(frozen=True)
class ImportedRow:
    """One spreadsheet row, checked, in the shape `enroll` reads (as the API's EnrollmentIn)."""

    resident_id: str
    name: str
    phone: str | None
    subsidy_category: str | None
    employment_at_start: EmploymentAtStart
    employment_after: EmploymentAfter = EmploymentAfter.unknown


@dataclass
class RowResult:
    row: int  # 1-based spreadsheet row (the header is row 1)
    ok: bool
    errors: list[dict] = field(default_factory=list)
    enrollment_id: int | None = None
    activation_code: str | None = None
    name: str | None = None


def read_table(filename: str, data: bytes) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8 with or without BOM, or GBK/GB18030) or XLSX file, keyed by our field names."""
    if not data:
        raise ApiError(422, "empty_file", "上传的文件是空的")
    name = filename.lower()
    if name.endswith(".xlsx") or data[:2] == b"PK":
        rows = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")) or not name:
        rows = _csv_rows(data)
    else:
        raise ApiError(415, "unsupported_file", "请上传 .xlsx 或 .csv 文件")
    if not rows:
        raise ApiError(422, "empty_file", "文件中没有表头行")
    header, body = rows[0], rows[1:]
    mapping = {}
    for i, heading in enumerate(header):
        key = next((k for k, names in COLUMNS.items() if (heading or "").strip() in names), None)
        if key:
            mapping[i] = key
    missing = [COLUMNS[k][0] for k in ("name", "resident_id") if k not in mapping.values()]
    if missing:
        raise ApiError(422, "missing_columns", f"缺少必需的列：{'、'.join(missing)}（表头应包含 姓名、身份证号）")
    if len(body) > MAX_IMPORT_ROWS:
        raise ApiError(413, "too_many_rows", f"一次最多导入 {MAX_IMPORT_ROWS} 行，请分批导入")
    out = []
    for cells in body:
        row = {key: ("" if i >= len(cells) or cells[i] is None else str(cells[i]).strip()) for i, key in mapping.items()}
        out.append(row)
    return out


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ApiError(422, "bad_encoding", "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV")
    try:
        return [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ApiError(422, "bad_csv", f"CSV 格式错误：{exc}") from None


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ApiError(422, "bad_xlsx", f"无法读取 Excel 文件：{exc.__class__.__name__}，请确认是 .xlsx 格式") from None
    try:
        sheet = wb.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            cells = ["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in values]
            if any(c.strip() for c in cells):
                rows.append(cells)
            if len(rows) > MAX_IMPORT_ROWS + 1:
                break
        return rows
    finally:
        wb.close()


def import_trainees(session: Session, actor: Actor, filename: str, data: bytes, default_class_id: int | None,
                    now: datetime) -> list[RowResult]:
    """Enrol every valid row; a row that fails imports nothing of itself and says why."""
    require(actor, Capability.ENROL_TRAINEES)
    if default_class_id is not None:
        writable_class(session, actor, default_class_id, Capability.ENROL_TRAINEES)  # a class the actor cannot see: 404 before reading
    rows = read_table(filename, data)
    seen: dict[tuple[int, str], int] = {}
    results = []
    for n, row in enumerate(rows, start=2):
        result = RowResult(row=n, ok=False, name=row.get("name") or None)
        results.append(result)
        errors = result.errors
        class_id = _class_id(row.get("class_id"), default_class_id, errors)
        employment = EMPLOYMENT_WORDS.get(row.get("employment_at_start", ""), row.get("employment_at_start", ""))
        if employment not in {e.value for e in EmploymentAtStart}:
            errors.append({"field": "employment_at_start", "code": "invalid",
                           "message": f"培训前就业状态“{employment}”无法识别（在职/未就业）"})
        phone = row.get("phone") or None
        if phone and not MOBILE.match(phone):
            errors.append({"field": "phone", "code": "invalid_phone", "message": f"手机号 {phone} 不是11位手机号"})
        rid = (row.get("resident_id") or "").upper()
        try:
            identity.parse_resident_id(rid)
        except ValueError as exc:
            errors.append({"field": "resident_id", "code": "invalid_resident_id", "message": str(exc)})
        if not row.get("name"):
            errors.append({"field": "name", "code": "required", "message": "姓名不能为空"})
        elif len(row["name"]) > 64:
            errors.append({"field": "name", "code": "too_long", "message": f"姓名超过 64 个字（{len(row['name'])} 个）"})
        if len(row.get("subsidy_category") or "") > 48:
            errors.append({"field": "subsidy_category", "code": "too_long", "message": "补贴类别超过 48 个字"})
        if class_id is not None and rid:
            first = seen.get((class_id, rid))
            if first is not None:
                errors.append({"field": "resident_id", "code": "duplicate", "message": f"与第 {first} 行重复"})
            else:
                seen[(class_id, rid)] = n
        if errors or class_id is None:  # no class id always comes with its error
            continue
        payload = ImportedRow(resident_id=rid, name=row["name"], phone=phone,
                              subsidy_category=row.get("subsidy_category") or None,
                              employment_at_start=EmploymentAtStart(employment))
        # Each row in its own savepoint: a failing row rolls back only itself.
        savepoint = session.begin_nested()
        try:
            enrollment, code = enroll(session, actor, class_id, payload, now)
            savepoint.commit()
        except ApiError as exc:
            savepoint.rollback()
            code_name = {"class_not_found": "unknown_class", "already_enrolled": "duplicate"}.get(exc.code, exc.code)
            errors.append({"field": "class_id" if code_name == "unknown_class" else "resident_id", "code": code_name,
                           "message": exc.message})
            continue
        except (DataError, IntegrityError):
            # Something the checks above missed and the database refused: this row only.
            savepoint.rollback()
            errors.append({"field": "(row)", "code": "not_stored", "message": "该行数据无法保存，请检查各列的长度和格式"})
            continue
        result.ok, result.enrollment_id, result.activation_code = True, enrollment.id, code
    audit.record(session, actor, "trainee.import", "import", None, None,
                 {"file": filename, "rows": len(results), "imported": sum(r.ok for r in results)})
    session.commit()
    return results


def _class_id(raw: str | None, default: int | None, errors: list[dict]) -> int | None:
    if raw:
        try:
            return int(raw)
        except ValueError:
            errors.append({"field": "class_id", "code": "unknown_class", "message": f"班级编号“{raw}”不是数字"})
            return None
    if default is None:
        errors.append({"field": "class_id", "code": "unknown_class", "message": "缺少班级编号"})
    return default


# --- consent -----------------------------------------------------------------------------------


def record_consent(session: Session, actor: Actor, trainee_id: int, data, now: datetime, store=None,
                   index: faces.DedupIndex | None = None) -> Consent:
    """A trainee's own consent (phone) or staff recording a signed paper form. A withdrawal erases
    the trainee's templates (and takes them out of ``index``, the process's dedup index)."""
    trainee = _trainee_for_consent(session, actor, trainee_id, data.channel)
    if data.text_version != CONSENT_VERSION:
        raise ApiError(409, "consent_text_outdated", f"告知书已更新为 {CONSENT_VERSION} 版，请重新阅读后同意",
                       text_version=CONSENT_VERSION)
    consent = Consent(trainee_id=trainee.id, purpose="biometric", granted=data.granted, text_version=CONSENT_VERSION,
                      text_sha256=CONSENT_SHA256, channel=data.channel, recorded_by_id=actor.user_id, at=now)
    session.add(consent)
    session.flush()
    if not data.granted:
        faces.erase_templates(session, actor, trainee.id, now, store, index)
    audit.record(session, actor, "consent.grant" if data.granted else "consent.withdraw", "trainee", trainee.id, None,
                 {"purpose": "biometric", "channel": data.channel, "text_version": CONSENT_VERSION},
                 institution_id=trainee_institution(session, trainee.id, actor))
    session.commit()
    return consent


def _trainee_for_consent(session: Session, actor: Actor, trainee_id: int, channel: str) -> Trainee:
    if actor.role is Role.trainee:
        if actor.trainee_id != trainee_id or channel != "phone":
            raise ApiError(404, "trainee_not_found", "学员不存在")
    else:
        require(actor, Capability.ENROL_TRAINEES)
        if channel != "paper":
            raise ApiError(422, "invalid_input", "工作人员只能登记纸质签署的同意书（channel=paper）",
                           fields=[{"field": "channel", "message": "纸质同意书由工作人员录入"}])
    trainee = visible_trainee(session, actor, trainee_id)
    return trainee
