"""Trainees: enrolling one, importing many from a spreadsheet, and recording biometric consent
(the notice and the "in force" rule are in services/consent.py)."""
from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from policies import categories, identity
from server.errors import ApiError
from server.models import Consent, EmploymentAfter, EmploymentAtStart, Enrollment, Role, Trainee, User
from server.models.people import MOBILE, mask_resident_id
from server.permissions import Capability
from server.services import accounts, audit, faces, rules
from server.services import consent as notices
from server.services.names import pinyin_key
from server.services.scope import Actor, require, trainee_institution, visible_class, visible_trainee, writable_class


def enroll(session: Session, actor: Actor, class_id: int, data, now: datetime,
           activation: tuple[str, str] | None = None) -> tuple[Enrollment, str | None]:
    """Enrol a person in a class (creating the trainee and their account when new).
    Returns the enrollment and, for a new account, its one-time activation code (`activation`
    when one was made beforehand: accounts.new_activation)."""
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
        raise ApiError(409, "already_enrolled", f"{data.name} 已在该培训班中，无需重复报名")
    enrollment = Enrollment(
        class_id=cls.id, trainee_id=trainee.id, subsidy_category=category_code(cls.region_code, data.subsidy_category),
        employment_at_start=data.employment_at_start, employment_after=data.employment_after, enrolled_at=now,
    )
    session.add(enrollment)
    session.flush()
    code = None
    if session.scalar(select(User).where(User.trainee_id == trainee.id)) is None:
        username = trainee.phone or trainee.resident_id
        _, code = accounts.create_user(session, actor, username=username, role=Role.trainee,
                                       display_name=trainee.name, trainee_id=trainee.id, activation=activation)
    audit.record(session, actor, "enrollment.create", "enrollment", enrollment.id, None,
                 {"class_id": cls.id, "trainee_id": trainee.id, "resident_id": mask_resident_id(trainee.resident_id)},
                 institution_id=cls.institution_id)
    return enrollment, code


def category_code(region_code: str, text: str | None) -> str | None:
    """The region's code for a category as written (a code, a name, or an alias such as 企业职工);
    422 with the region's list when it names none of its groups (policies/categories.py)."""
    groups = rules.region(region_code).eligible_groups
    if not text or not text.strip():
        return None
    if not groups:  # the region's rules name no groups: nothing to read it as
        return text.strip()
    reading = categories.read_category(text, groups)
    if reading.group is None:
        message = categories.refusal(text.strip(), reading, groups)
        raise ApiError(422, "unknown_category", message, fields=[{"field": "subsidy_category", "message": message}])
    return reading.group.code


def category_warnings(session: Session, cls) -> list[dict]:
    """Trainees of the class whose category the subsidy rules cannot judge (none, or not the
    region's), as warnings {code, clause, message}: said at enrolment and filing, before any export."""
    rows = session.execute(select(Trainee.name, Enrollment.subsidy_category).join(Enrollment, Enrollment.trainee_id == Trainee.id)
                           .where(Enrollment.class_id == cls.id).order_by(Enrollment.id)).all()
    return [{"code": r.code, "clause": r.clause, "message": r.detail}
            for r in categories.category_warnings([(name, code) for name, code in rows],
                                                  rules.region(cls.region_code).eligible_groups)]


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


def enrollment_json(e: Enrollment, t: Trainee, actor: Actor, readiness: dict | None = None, region_code: str | None = None) -> dict:
    groups = rules.region(region_code or e.training_class.region_code).eligible_groups
    return {
        "id": e.id, "class_id": e.class_id, "trainee": trainee_json(t, actor), "subsidy_category": e.subsidy_category,
        # As people read it (the group's name; an unknown text marked so); None when not given.
        "subsidy_category_name": categories.shown(e.subsidy_category, groups),
        "subsidy_category_known": bool(e.subsidy_category) and (not groups or any(g.code == e.subsidy_category for g in groups)),
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

#: Accepted column headings (Chinese as institutions write them, and the API names), compared
#: without spaces, full-width forms or a required-column mark (*姓名, 姓名（必填）).
COLUMNS = {
    "name": ("姓名", "名字", "学员姓名", "学员名字", "name"),
    "resident_id": ("身份证号", "身份证号码", "身份证", "公民身份号码", "身份证件号码", "证件号码", "证件号", "resident_id"),
    "phone": ("手机号", "手机号码", "手机", "联系电话", "电话", "电话号码", "联系方式", "phone"),
    "class_id": ("班级编号", "培训班编号", "班级号", "class_id"),
    "subsidy_category": ("补贴类别", "人员类别", "补贴对象类别", "补贴对象", "人员类型", "subsidy_category"),
    "employment_at_start": ("培训前就业状态", "就业状态", "就业情况", "是否就业", "employment_at_start"),
}
#: What rosters write for the employment status before training (compared like the headings).
EMPLOYMENT_WORDS = {
    "employed": ("在职", "已就业", "就业", "在岗", "是", "employed"),
    "not_employed": ("未就业", "失业", "待业", "无业", "否", "not_employed"),
    "unknown": ("", "未知", "不详", "unknown"),
}
MAX_IMPORT_ROWS = 5000
#: Rows written per transaction (see import_trainees).
IMPORT_BATCH = 50
#: Ids are the database's 32-bit integers (the URL converter's bound too).
MAX_ID = 2**31 - 1
#: A number Excel wrote in scientific notation (5.00112E+17): what a CSV saved from Excel holds
#: when the ID column was a number.
SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
EXCEL_NUMBER = "身份证号被 Excel 转成了数字，后几位已经丢失：请将该列设为文本（或在号码前加英文单引号）后重新导入"


def _heading(text: str) -> str:
    text = "".join(unicodedata.normalize("NFKC", text or "").split()).strip("*＊").lower()
    return re.sub(r"[(（][^()（）]*[)）]$", "", text)


def _employment(text: str) -> str | None:
    key = _heading(text)
    return next((value for value, words in EMPLOYMENT_WORDS.items() if key in words), None)


def _phone(text: str) -> str:
    """A phone number as people type it: spaces, dashes, dots, brackets and a +86 / 0086 prefix go."""
    digits = re.sub(r"[\s\-–—.·()（）]", "", unicodedata.normalize("NFKC", text))
    return re.sub(r"^(\+86|0086|86)(?=1\d{10}$)", "", digits)


class NumberCell(str):
    """A spreadsheet cell Excel stored as a floating-point number: its digits past the 15th are lost."""


def _resident_id(cell: str, errors: list[dict]) -> str:
    rid = "".join(unicodedata.normalize("NFKC", cell or "").split()).upper()
    if isinstance(cell, NumberCell) and len(rid) > 15 or SCIENTIFIC.match(rid):
        errors.append({"field": "resident_id", "code": "id_stored_as_number", "message": EXCEL_NUMBER})
        return rid
    try:
        identity.parse_resident_id(rid)
    except identity.IdentityError as exc:
        hint = "（末尾是 000，可能已被 Excel 当作数字截断：请将该列设为文本后重新导入）" if rid.endswith("000") else ""
        errors.append({"field": "resident_id", "code": "invalid_resident_id", "message": exc.zh + hint})
    return rid


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
    trainee_id: int | None = None  # with the code: what the activation slips are printed for
    activation_code: str | None = None
    name: str | None = None
    #: for a row that went in: said beside 成功 (an existing account reused; what is still missing)
    note: str | None = None
    warnings: list[str] = field(default_factory=list)


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
        key = next((k for k, names in COLUMNS.items() if _heading(heading) in names), None)
        if key:
            mapping[i] = key
    missing = [COLUMNS[k][0] for k in ("name", "resident_id") if k not in mapping.values()]
    if missing:
        raise ApiError(422, "missing_columns", f"缺少必需的列：{'、'.join(missing)}（表头应包含 姓名、身份证号）")
    if len(body) > MAX_IMPORT_ROWS:
        raise ApiError(413, "too_many_rows", f"一次最多导入 {MAX_IMPORT_ROWS} 行，请分批导入")
    out = []
    for cells in body:
        row = {key: ("" if i >= len(cells) or cells[i] is None else cells[i] if isinstance(cells[i], NumberCell)
                     else str(cells[i]).strip()) for i, key in mapping.items()}
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


#: Bounds checked on the zip's directory before any XML is parsed: a 5,000-row roster unpacks to
#: a few MB, while a 125 KB file of 3 million shared strings took 30 s and 190 MiB to read.
MAX_XLSX_UNPACKED = 40 * 1024 * 1024
MAX_XLSX_RATIO = 200


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import zipfile
    from xml.etree.ElementTree import ParseError
    from xml.parsers.expat import ExpatError
    from zlib import error as ZlibError

    from openpyxl import load_workbook

    unreadable = "无法读取该 Excel 文件（文件可能已损坏），请用 Excel 或 WPS 打开后另存为 .xlsx 再导入"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            packed = sum(info.compress_size for info in archive.infolist()) or 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise ApiError(422, "bad_xlsx", unreadable) from None
    if unpacked > MAX_XLSX_UNPACKED or unpacked > MAX_XLSX_RATIO * packed:
        raise ApiError(413, "xlsx_too_large", f"该 Excel 文件解压后过大（{unpacked // 1024 // 1024} MB），"
                                              "请只保留学员名单一张表、删除多余内容后再导入")
    # openpyxl reads lazily: a broken sheet (bad XML, an undefined entity, a corrupt deflate
    # stream, no sheets at all) shows only while the rows are read, so the reading is inside too.
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            if not wb.worksheets:
                raise ApiError(422, "bad_xlsx", "该 Excel 文件中没有工作表")
            sheet = wb.worksheets[0]
            rows = []
            for values in sheet.iter_rows(values_only=True):
                # A whole float is what Excel stores for a number typed into a cell: an 18-digit ID keeps
                # only 15 significant digits, so such a cell is marked (NumberCell) and never trusted as an ID.
                cells = ["" if v is None else NumberCell(str(int(v))) if isinstance(v, float) and v.is_integer() else str(v)
                         for v in values]
                if any(c.strip() for c in cells):
                    rows.append(cells)
                if len(rows) > MAX_IMPORT_ROWS + 1:
                    break
            return rows
        finally:
            wb.close()
    except ApiError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, IndexError, TypeError, AttributeError,
            ParseError, ExpatError, ZlibError, UnicodeError, OverflowError):
        raise ApiError(422, "bad_xlsx", unreadable) from None


def import_trainees(session: Session, actor: Actor, filename: str, data: bytes, default_class_id: int | None,
                    now: datetime) -> list[RowResult]:
    """Enrol every valid row; a row that fails imports nothing of itself and says why."""
    require(actor, Capability.ENROL_TRAINEES)
    if default_class_id is not None:
        writable_class(session, actor, default_class_id, Capability.ENROL_TRAINEES)  # a class the actor cannot see: 404 before reading
    rows = read_table(filename, data)
    seen: dict[tuple[int, str], int] = {}
    results = []
    valid: list[tuple[RowResult, int, ImportedRow]] = []
    for n, row in enumerate(rows, start=2):
        result = RowResult(row=n, ok=False, name=row.get("name") or None)
        results.append(result)
        errors = result.errors
        class_id = _class_id(row.get("class_id"), default_class_id, errors)
        employment = _employment(row.get("employment_at_start", ""))
        if employment is None:
            errors.append({"field": "employment_at_start", "code": "invalid",
                           "message": f"“{row.get('employment_at_start')}”无法识别，请填写 在职、未就业 或留空"})
        phone = _phone(row.get("phone") or "") or None
        if phone and not MOBILE.match(phone):
            errors.append({"field": "phone", "code": "invalid_phone", "message": f"{row.get('phone')} 不是 11 位手机号"})
        rid = _resident_id(row.get("resident_id") or "", errors)
        if not row.get("name"):
            errors.append({"field": "name", "code": "required", "message": "未填写"})
        elif len(row["name"]) > 64:
            errors.append({"field": "name", "code": "too_long", "message": f"超过 64 个字（{len(row['name'])} 个）"})
        if class_id is not None and rid:
            first = seen.get((class_id, rid))
            if first is not None:
                errors.append({"field": "resident_id", "code": "duplicate", "message": f"与第 {first} 行重复"})
            else:
                seen[(class_id, rid)] = n
        if errors or class_id is None:  # no class id always comes with its error
            continue
        valid.append((result, class_id, ImportedRow(
            resident_id=rid, name=row["name"], phone=phone, subsidy_category=row.get("subsidy_category") or None,
            employment_at_start=EmploymentAtStart(employment or "unknown"))))
    # Activation codes are hashed (argon2, ~0.15 s each) before anything is written: on SQLite the
    # first write takes the database's one write lock until commit, and 250 rows hashed inside it
    # kept every other writer (a log-in) waiting 40 s. Rows are then written in batches, each
    # committed, so the lock is held for one batch at a time.
    activations = _activations_for(session, [payload for _, _, payload in valid])
    for start in range(0, len(valid), IMPORT_BATCH):
        for result, class_id, payload in valid[start:start + IMPORT_BATCH]:
            _import_row(session, actor, result, class_id, payload, activations.get(payload.resident_id), now)
        session.commit()
    audit.record(session, actor, "trainee.import", "import", None, None,
                 {"file": filename, "rows": len(results), "imported": sum(r.ok for r in results)})
    session.commit()
    return results


def _activations_for(session: Session, rows: list[ImportedRow]) -> dict[str, tuple[str, str]]:
    """An activation (code, hash) for each person who has no account yet, made in parallel threads
    (argon2 releases the GIL) with no transaction open."""
    from concurrent.futures import ThreadPoolExecutor

    ids = sorted({r.resident_id for r in rows})
    have = set()
    for chunk in range(0, len(ids), 500):
        have |= set(session.scalars(select(Trainee.resident_id).join(User, User.trainee_id == Trainee.id)
                                    .where(Trainee.resident_id.in_(ids[chunk:chunk + 500]))))
    session.commit()  # end the read: nothing is held while hashing
    needed = [i for i in ids if i not in have]
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return dict(zip(needed, pool.map(lambda _: accounts.new_activation(), needed), strict=True))


def _import_row(session: Session, actor: Actor, result: RowResult, class_id: int, payload: ImportedRow,
                activation: tuple[str, str] | None, now: datetime) -> None:
    """One checked row, in its own savepoint: a failing row rolls back only itself."""
    errors = result.errors
    savepoint = session.begin_nested()
    try:
        enrollment, code = enroll(session, actor, class_id, payload, now, activation)
        savepoint.commit()
    except ApiError as exc:
        savepoint.rollback()
        code_name = {"class_not_found": "unknown_class", "already_enrolled": "duplicate"}.get(exc.code, exc.code)
        fields = exc.detail.get("fields") or [{}]
        errors.append({"field": "class_id" if code_name == "unknown_class" else fields[0].get("field", "resident_id"),
                       "code": code_name, "message": fields[0].get("message", exc.message) if code_name == "unknown_category"
                       else exc.message})
        return
    except (DataError, IntegrityError):
        # Something the checks above missed and the database refused: this row only.
        savepoint.rollback()
        errors.append({"field": "(row)", "code": "not_stored", "message": "该行数据无法保存，请检查各列的长度和格式"})
        return
    result.ok, result.enrollment_id, result.activation_code = True, enrollment.id, code
    if code is None:
        result.note = "该学员已有账号（此前在其他培训班报名过），已加入本班，沿用原账号，不另发激活码"
    if enrollment.subsidy_category is None:
        result.warnings.append("未填写补贴类别：补贴核定将无法判断其是否属于本地补贴对象，请在学员名单中补填")


def _class_id(raw: str | None, default: int | None, errors: list[dict]) -> int | None:
    if raw:
        if not (raw.isascii() and raw.isdigit()):
            errors.append({"field": "class_id", "code": "unknown_class", "message": f"班级编号“{raw}”不是数字"})
            return None
        if not 1 <= int(raw) <= MAX_ID:  # beyond the database's integer: no such class
            errors.append({"field": "class_id", "code": "unknown_class", "message": f"班级编号“{raw}”不存在"})
            return None
        return int(raw)
    if default is None:
        errors.append({"field": "class_id", "code": "unknown_class", "message": "缺少班级编号"})
    return default


# --- consent -----------------------------------------------------------------------------------


def record_consent(session: Session, actor: Actor, trainee_id: int, data, now: datetime, store=None,
                   index: faces.DedupIndex | None = None) -> Consent:
    """A trainee's own consent (phone) or staff recording a signed paper form, for one purpose
    (``data.purpose``: "biometric" or "photo_keeping"), against the notice of the trainee's region.
    Withdrawing "biometric" erases the trainee's templates (and takes them out of ``index``, the
    process's dedup index); withdrawing "photo_keeping" is recorded, and the daily retention job
    then keeps their check-in photos only for the review window (POLICY §11)."""
    trainee = _trainee_for_consent(session, actor, trainee_id, data.channel)
    purpose = getattr(data, "purpose", notices.BIOMETRIC)
    notice = notices.notices(notices.trainee_region(session, trainee.id))[purpose]
    if data.text_version != notice.version:
        raise ApiError(409, "consent_text_outdated", f"《{notice.title}》告知书已更新为 {notice.version} 版，请重新阅读后同意",
                       text_version=notice.version)
    consent = Consent(trainee_id=trainee.id, purpose=purpose, granted=data.granted, text_version=notice.version,
                      text_sha256=notice.sha256, channel=data.channel, recorded_by_id=actor.user_id, at=now)
    session.add(consent)
    session.flush()
    if purpose == notices.BIOMETRIC and not data.granted:
        faces.erase_templates(session, actor, trainee.id, now, store, index)
    verb = "grant" if data.granted else "withdraw"
    # The biometric actions keep their names (the trail already holds them); the other purposes
    # name themselves.
    action = f"consent.{verb}" if purpose == notices.BIOMETRIC else f"consent.{purpose}.{verb}"
    audit.record(session, actor, action, "trainee", trainee.id, None,
                 {"purpose": purpose, "channel": data.channel, "text_version": notice.version,
                  "text_sha256": notice.sha256},
                 institution_id=trainee_institution(session, trainee.id, actor))
    session.commit()
    return consent


def consent_notices(session: Session, actor: Actor, trainee_id: int | None) -> tuple[str | None, dict]:
    """The notices shown before a consent, with the figures of the trainee's region: a trainee's
    own; staff name the trainee (one they can see); without one, the default figures."""
    if actor.role is Role.trainee:
        if trainee_id not in (None, actor.trainee_id):
            raise ApiError(404, "trainee_not_found", "学员不存在")
        trainee_id = actor.trainee_id
    elif trainee_id is not None:
        visible_trainee(session, actor, trainee_id)
    region = notices.trainee_region(session, trainee_id) if trainee_id is not None else None
    return region, notices.notices(region)


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
