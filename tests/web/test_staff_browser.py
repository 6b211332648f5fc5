"""One real browser through the staff pages: log in, add a venue, create a class, add lessons
through the form, see filing refused with its clauses, enrol a trainee and see the activation
code, record paper consent, upload face photos, import a CSV, complete the plan and see it
filed, amend it, and read the audit trail.

Chromium is Debian's package (browsers cannot be downloaded here); tests/setup_browser.py
installs it in CI. Without it the test skips and says so."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from policies.identity import resident_id_check_digit
from tests.browser import chromium_or_skip, serve
from tests.factories import PASSWORD, faces_dir_path

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--lang=zh-CN"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _blank_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (128, 128, 128)).save(out, "PNG")
    return out.getvalue()


def _resident_id(first17: str) -> str:
    return first17 + resident_id_check_digit(first17)


@pytest.fixture
def live_server(app, worlds):
    """The app served by werkzeug on 127.0.0.1 and a free port, in a thread."""
    with serve(app) as base:
        yield base


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems: list[str] = []
        # HTTP errors the test provokes (401, 422) are logged as "Failed to load resource"; anything
        # else (a script error, a CSP refusal) is a problem.
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.problems = problems
        try:
            yield page
        finally:
            context.close()
            browser.close()


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
def test_an_institution_admin_plans_files_and_enrols_through_the_pages(live_server, page, worlds):
    from playwright.sync_api import expect

    # Not signed in: the page sends us to log in, and back afterwards.
    page.goto(live_server + "/manage")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fmanage$"))
    page.fill("input[name=username]", "yubei-admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-form .form-error")).to_contain_text("用户名或密码错误")
    page.fill("input[name=username]", "yubei-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(live_server + "/manage")
    expect(page.locator("#classes-table")).to_contain_text("yubei class")
    expect(page.locator("#venues-table")).to_contain_text("yubei venue")
    expect(page.locator("#institution-summary")).to_contain_text("统一社会信用代码 91500112MA5U7XK8QL")

    # A venue through the form: the circle fence and its map datum.
    page.click("#venue-form >> xpath=.. >> summary")
    venue = page.locator("#venue-form")
    venue.locator("input[name=name]").fill("二号实训楼")
    venue.locator("input[name=address]").fill("重庆市渝北区示例路 1 号")
    venue.locator("select[name=datum]").select_option("bd09")
    venue.locator("input[name=centre_lat]").fill("29.7215")
    venue.locator("input[name=centre_lon]").fill("106.6312")
    venue.locator("input[name=radius_m]").fill("-5")
    venue.locator("button[type=submit]").click()
    expect(venue.locator(".form-error")).to_contain_text("围栏半径")
    venue.locator("input[name=radius_m]").fill("150")
    venue.locator("button[type=submit]").click()
    expect(page.locator("#venues-table")).to_contain_text("BD-09（百度）")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-manage.png"), full_page=True)

    # A class through the form (district and region come from the institution).
    page.click("#class-box summary")
    district = page.locator("#class-form select[name=district_id]")
    expect(district.locator("option:checked")).to_have_text(re.compile("重庆市 yubei"))  # by name, not a number
    page.fill("#class-form input[name=name]", "云计算工程技术人员（中级）浏览器测试班")
    page.select_option("#class-form select[name=occupation_code]", "2-02-38-04")
    page.select_option("#class-form select[name=level]", "mid")
    expect(page.locator("#required-hours")).to_contain_text("160 学时")
    page.fill("#class-form input[name=starts_on]", "2026-03-01")
    page.fill("#class-form input[name=ends_on]", "2026-05-31")
    page.fill("#class-form input[name=fee]", "4800")
    page.click("#class-form button[type=submit]")
    page.wait_for_url(re.compile(r"/manage/classes/\d+$"))
    expect(page.locator("#class-title")).to_have_text("云计算工程技术人员（中级）浏览器测试班")
    expect(page.locator("#class-facts")).to_contain_text("草稿")

    # Five offline practice lessons, 09:00-13:00 Beijing time, on weekdays.
    form = page.locator("#lessons-form")
    form.locator("input[name=date]").fill("2026-03-02")
    form.locator("input[name=start]").fill("09:00")
    form.locator("input[name=end]").fill("13:00")
    form.locator("select[name=content]").select_option("practice")
    form.locator("select[name=venue_id]").select_option(label="yubei venue")
    form.locator("input[name=repeat]").fill("5")
    form.locator("input[name=skip_weekends]").check()
    form.locator("button[type=submit]").click()
    rows = page.locator("#lessons-table tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("2026-03-02 周一")
    expect(rows.first).to_contain_text("09:00–13:00")
    expect(rows.nth(4)).to_contain_text("2026-03-06 周五")

    # A sixth lesson added by mistake is removed from the draft (confirmed in a dialog).
    form.locator("input[name=date]").fill("2026-03-09")
    form.locator("input[name=repeat]").fill("1")
    form.locator("button[type=submit]").click()
    expect(rows).to_have_count(6)
    page.once("dialog", lambda dialog: dialog.accept())
    rows.nth(5).get_by_role("button", name=re.compile("删除课次")).click()
    expect(rows).to_have_count(5)
    expect(page.locator("#lessons-table")).not_to_contain_text("2026-03-09")

    # The API's refusal shows beside the form that caused it: a lesson ending before it starts.
    form.locator("input[name=start]").fill("15:00")
    form.locator("input[name=end]").fill("14:00")
    form.locator("input[name=repeat]").fill("1")
    form.locator("button[type=submit]").click()
    expect(form.locator(".form-error")).to_contain_text("结束时间须晚于开始时间")
    form.locator("input[name=end]").fill("13:00")
    form.locator("input[name=start]").fill("09:00")

    # Check, then file: refused, with every violation and its clause.
    page.click("#plan-check")
    expect(page.locator("#plan-result")).to_contain_text("检查未通过")
    page.click("#plan-file")
    result = page.locator("#plan-result")
    expect(result).to_contain_text("未予备案")
    expect(result.locator(".clause").first).to_be_visible()
    assert result.locator(".clause").first.inner_text().strip()
    expect(page.locator("#class-facts")).to_contain_text("草稿")

    # Enrol one trainee: the one-time activation code is shown, with the note.
    page.click("#enroll-box summary")
    enroll = page.locator("#enroll-form")
    enroll.locator("input[name=name]").fill("张三")
    enroll.locator("input[name=resident_id]").fill(_resident_id("50011219900101123"))
    enroll.locator("input[name=phone]").fill("13912345678")
    enroll.locator("select[name=employment_at_start]").select_option("not_employed")
    enroll.locator("button[type=submit]").click()
    expect(page.locator("#activation-code")).to_have_text(re.compile(r"^\d{8}$"))
    expect(page.locator("#enroll-result")).to_contain_text("当面交给学员本人")
    expect(page.locator("#enrollments-table")).to_contain_text("张三")

    # Paper consent for that trainee, with the notice shown.
    page.locator("#enrollments-table tr", has_text="张三").get_by_role("button").click()
    expect(page.locator("#consent-text")).to_contain_text("人脸信息处理告知")
    page.check("#consent-form input[name=signed]")
    page.click("#consent-form button[type=submit]")
    expect(page.locator("#consent-form .done")).to_contain_text("已登记同意")
    # The second purpose, keeping the check-in photos as evidence, is its own notice and form.
    expect(page.locator("#photo-consent-text")).to_contain_text("培训结束后5年")
    page.check("#photo-consent-form input[name=signed]")
    page.click("#photo-consent-form button[type=submit]")
    expect(page.locator("#photo-consent-form .done")).to_contain_text("已登记同意")

    # Face photos: fewer than the 3 asked for need a confirmation that says why; a photo without a
    # face is refused with the pipeline's own message (real dlib); with the real test photos beside
    # the repository, one of them is enrolled.
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.set_input_files("#face-form input[name=photos]",
                         files=[{"name": "blank.png", "mimeType": "image/png", "buffer": _blank_png()}])
    page.click("#face-form button[type=submit]")
    expect(page.locator("#face-form .form-error")).to_contain_text("照片未通过质量检查")
    expect(page.locator("#face-form .form-error")).to_contain_text("未检测到人脸")
    assert asked and "3 张" in asked[0]
    photo = faces_dir_path() / "images" / "face_recognition" / "ex_obama.jpg"
    if photo.exists():
        page.set_input_files("#face-form input[name=photos]", str(photo))
        page.click("#face-form button[type=submit]")
        expect(page.locator("#face-form .done")).to_contain_text("人脸模板已建立", timeout=60_000)

    # Subsidy history: not checked yet (said in words); a date in the future is refused; an entry
    # from the 人社 system is listed; a check of the full record is then shown as the basis.
    expect(page.locator("#history-status")).to_contain_text("尚未登记全面核对")
    history = page.locator("#history-form")
    history.locator("select[name=occupation_code]").select_option("2-02-38-03")
    history.locator("select[name=level]").select_option("junior")
    history.locator("select[name=region_code]").select_option("cq")
    history.locator("input[name=training_start]").fill("2999-01-01")
    history.locator("button[type=submit]").click()
    expect(history.locator(".form-error")).to_contain_text("培训开始日期不能晚于今天")
    history.locator("input[name=training_start]").fill("2025-04-01")
    history.locator("button[type=submit]").click()
    expect(page.locator("#history-table")).to_contain_text("人社系统查询")
    expect(page.locator("#history-table")).to_contain_text("2025-04-01")
    page.click("#history-check-form button[type=submit]")
    expect(page.locator("#history-status")).to_contain_text("最近一次全面核对")
    page.click("#trainee-panel-close")

    # Import: a per-row report, the bad row named with its reason.
    csv = ("姓名,身份证号,手机号\n李四," + _resident_id("50011219920202223") + ",13812345678\n王五,500112199202022230,\n")
    page.click("#import-box summary")
    page.set_input_files("#import-form input[name=file]",
                         files=[{"name": "学员名单.csv", "mimeType": "text/csv", "buffer": csv.encode("utf-8-sig")}])
    page.click("#import-form button[type=submit]")
    report = page.locator("#import-result")
    expect(report).to_contain_text("成功 1 行，失败 1 行")
    expect(report.locator("tr.failed")).to_contain_text("王五")
    expect(page.locator("#enrollments-table")).to_contain_text("李四")

    page.screenshot(path=str(ARTIFACTS / "staff-class.png"), full_page=True)

    # Complete the plan (30 x 4 h = 160 学时 at 45 min) and file it: accepted and frozen.
    form.locator("input[name=date]").fill("2026-03-09")
    form.locator("input[name=repeat]").fill("25")
    form.locator("button[type=submit]").click()
    expect(rows).to_have_count(30)
    page.click("#plan-file")
    expect(page.locator("#plan-result")).to_contain_text("已备案")
    expect(page.locator("#class-facts")).to_contain_text("已备案")
    expect(page.locator("#amend-box")).to_be_visible()
    expect(page.locator("#lessons-box")).to_be_hidden()

    # An amendment: cancel the first lesson, add one in its place, give the reason.
    rows.first.locator("input[type=checkbox]").check()
    amend = page.locator("#amend-add-form")
    amend.locator("input[name=date]").fill("2026-04-20")
    amend.locator("input[name=start]").fill("09:00")
    amend.locator("input[name=end]").fill("13:00")
    amend.locator("select[name=content]").select_option("practice")
    amend.locator("button[type=submit]").click()
    expect(page.locator("#amend-summary")).to_have_text("将取消 1 个课次，新增 1 个课次。")
    page.fill("#amend-form textarea[name=reason]", "教师因病调课")
    page.click("#amend-form button[type=submit]")
    expect(page.locator("#plan-result")).to_contain_text("计划变更已记录")
    expect(rows).to_have_count(31)
    expect(rows.first).to_have_class("cancelled")
    expect(page.locator("#lessons-table")).to_contain_text("变更新增")
    expect(page.locator("#amendments-table")).to_contain_text("教师因病调课")
    page.screenshot(path=str(ARTIFACTS / "staff-class-filed.png"), full_page=True)

    # The audit trail shows what was just done.
    page.click("text=操作日志")
    expect(page.locator("#audit-table")).to_contain_text("计划备案")
    expect(page.locator("#audit-table")).to_contain_text("计划备案被拒")
    expect(page.locator("#audit-table")).to_contain_text("学员报名")
    expect(page.locator("#audit-table")).to_contain_text("计划变更")
    page.screenshot(path=str(ARTIFACTS / "staff-audit.png"), full_page=True)

    assert page.problems == []


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_manage_page_lists_open_duties_with_their_clause_and_marks_one_done(live_server, page, worlds):
    from playwright.sync_api import expect

    page.goto(live_server + "/login?next=/manage")
    page.fill("input[name=username]", "yubei-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(live_server + "/manage")
    row = page.locator("#duties-table tbody tr")
    expect(row).to_have_count(1)  # the institution's own duty, not nanan's
    expect(row).to_contain_text("2026-07-30")
    expect(row).to_contain_text("cq 3.2.1")
    expect(row).to_contain_text("yubei class")
    expect(row.locator(".badge")).to_have_text(re.compile("待办|已逾期"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#duties-box").screenshot(path=str(ARTIFACTS / "staff-duties.png"))
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))  # not undone: asked first
    row.get_by_role("button", name="标记已完成").click()
    expect(page.locator("#duties-table tbody")).to_contain_text("暂无到期或逾期的事项")
    assert asked and "不能撤销" in asked[0]
    assert page.problems == []


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_institution_admin_uploads_an_online_lessons_video_and_enters_its_checkpoint_quiz_from_the_class_page(
        live_server, page, worlds, session, faces_dir):
    """The class page offers an upload on each online lesson; a file that is not a video is refused
    with the server's words, the real clip is taken and shown with its length. With quizzes turned
    on for the class, the lesson's quiz is entered in a dialog: a problem is named in Chinese at its
    place, and a good quiz is saved and counted beside the video."""
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import expect

    from server.models import Lesson, LessonContent, LessonMode

    y = worlds["yubei"]
    t0 = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
    online = Lesson(class_id=y.class_id, starts_at=t0, ends_at=t0 + timedelta(hours=2), mode=LessonMode.online,
                    content=LessonContent.theory)
    session.add(online)
    session.commit()
    page.goto(f"{live_server}/login?next=/manage/classes/{y.class_id}")
    page.fill("input[name=username]", "yubei-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/manage/classes/\d+$"))
    row = page.locator("#lessons-table tbody tr", has_text=str(online.id)).filter(has=page.locator(".media"))
    expect(row.locator(".media-state")).to_contain_text("未上传")
    # The page draws the lessons again once the venue and teacher lists are in (their names):
    # wait for that, as a person would not upload within the first instant.
    expect(page.locator("#lessons-form input[name=date]")).not_to_have_value("")
    upload = row.locator("input[type=file]")
    upload.set_input_files(files=[{"name": "notes.mp4", "mimeType": "video/mp4", "buffer": b"not a video at all" * 100}])
    expect(row.locator(".form-error")).to_contain_text("不是 MP4 视频")
    upload.set_input_files(str(faces_dir / "video" / "short_hamilton_clip.mp4"))
    expect(row.locator(".media-state")).to_contain_text("short_hamilton_clip.mp4（0.2 分钟）")
    expect(row.locator("button", has_text="更换视频")).to_be_visible()
    assert page.problems == []

    expect(row.locator(".quiz-edit")).to_have_count(0)  # quizzes are off by default
    page.check("#quiz-toggle")
    row.locator(".quiz-edit", has_text="设置课程测验").click()
    dialog = page.locator("#quiz-dialog")
    expect(dialog.locator(".quiz-point")).to_have_count(1)
    dialog.locator(".q-position").fill("0:05")
    for qi, question in enumerate(dialog.locator(".quiz-question").all()):
        if qi < 2:  # the third question is left without its text
            question.locator(".q-text").fill(f"第{qi + 1}题：讲者在做什么？")
        question.locator(".q-option").nth(0).fill("演讲")
        question.locator(".q-option").nth(1).fill("唱歌")
        question.locator("input[type=radio]").nth(1).check()
    dialog.locator("#quiz-save").click()
    error = dialog.locator(".form-error")
    expect(error).to_contain_text("测验点 · 第 1 项 · 题目 · 第 3 项 · 题干")
    expect(error).to_contain_text("请填写题目")
    dialog.locator(".quiz-question").nth(2).locator(".q-text").fill("第3题：有几个人？")
    dialog.locator("#quiz-save").click()
    expect(dialog).to_be_hidden()
    expect(row.locator(".quiz-edit")).to_have_text("课程测验（1 个测验点）")
    from sqlalchemy import select

    from server.models import LessonQuiz

    session.rollback()
    saved = session.scalars(select(LessonQuiz)).one().checkpoints["checkpoints"][0]
    assert saved["position_s"] == 5 and [q["answer"] for q in saved["questions"]] == [1, 1, 1]
    assert saved["questions"][0]["options"] == ["演讲", "唱歌"]  # the blank options are dropped
    assert page.problems == []


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the pages, not the database, are under test
def test_a_district_supervisor_reads_the_class_history_and_exports_the_district_from_the_page(
        live_server, page, worlds, session, login, app, tmp_path):
    from playwright.sync_api import expect

    from server.exports import bundle, signing
    from tests.factories import add_attendance

    y = worlds["yubei"]
    add_attendance(session, y)
    ledger = login("yubei-supervisor").get(f"/api/enrollments/{y.enrollment_id}/ledger").get_json()

    page.goto(live_server + "/login?next=/manage")
    page.fill("input[name=username]", "yubei-supervisor")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(live_server + "/manage")
    expect(page.locator("h1")).to_have_text("培训班历史与导出")
    # The class list by state: the seeded class ran in March, so it is finished, not in session.
    expect(page.locator("#classes-table")).to_contain_text("yubei class")
    expect(page.locator("#classes-table")).not_to_contain_text("nanan class")
    page.click("#class-filters button[data-state=in_session]")
    expect(page.locator("#classes-table")).to_contain_text("没有处于该状态的培训班")
    page.click("#class-filters button[data-state=finished]")
    expect(page.locator("#classes-table")).to_contain_text("yubei class")
    expect(page.locator("#class-form")).to_have_count(0)

    # The class page: lessons, each trainee's credited hours, no enrolment or sealing controls.
    page.click(f"#classes-table tr[data-class-id='{y.class_id}'] a >> nth=0")
    page.wait_for_url(re.compile(rf"/manage/classes/{y.class_id}$"))
    row = page.locator(f"#hours-table tr[data-enrollment-id='{y.enrollment_id}']")
    expect(row).to_contain_text("yubei trainee")
    expect(row.locator(".hours-credited")).to_have_text(ledger["credited"]["total"])
    expect(page.locator("#lessons-table tbody tr")).to_have_count(1)
    expect(page.locator("#enroll-box")).to_be_hidden()
    expect(page.locator("button[data-export=subsidy]")).to_have_count(0)
    expect(page.locator("button[data-export=class]")).to_be_visible()
    # What still waits for 人社 and the class's deadlines, each in Chinese.
    expect(page.locator("#reviews-table")).to_contain_text("yubei trainee")
    expect(page.locator("#class-duties-table")).to_contain_text("yubei 结业后30日内报送")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "supervisor-class-history.png"), full_page=True)

    # The district roll-up from /manage, followed to done, downloaded, and it verifies.
    page.goto(live_server + "/manage")
    expect(page.locator("#district-export-select option")).to_have_count(1)
    page.click("#district-export")
    link = page.locator("#district-export-status a")
    expect(link).to_have_text("下载签名证据包", timeout=60_000)
    expect(page.locator("#district-export-status")).to_contain_text("区县汇总：已完成")
    page.screenshot(path=str(ARTIFACTS / "supervisor-manage.png"), full_page=True)
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "district.zip"
    download.value.save_as(str(path))
    key = signing.load_or_create(app.config["HOURPROOF_SETTINGS"].data_dir).public_key()
    session.rollback()  # a fresh look at the chain heads the export read
    result = bundle.verify_bundle(path, key, session)
    assert result.ok, result
    assert page.problems == []


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_lesson_added_on_a_statutory_holiday_is_stored_and_the_page_warns_beside_the_plan(live_server, page, worlds):
    """The warning is not an error: the lesson is in the table, and beside it the page says which
    lesson (date, time, 编号) falls on which holiday, with the clause."""
    from playwright.sync_api import expect

    y = worlds["yubei"]
    page.goto(f"{live_server}/login?next=/manage/classes/{y.class_id}")
    page.fill("input[name=username]", "yubei-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(re.compile(r"/manage/classes/\d+$"))
    rows = page.locator("#lessons-table tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#lessons-form input[name=date]")).not_to_have_value("")  # the venue list is in
    form = page.locator("#lessons-form")
    form.locator("input[name=date]").fill("2026-05-01")
    form.locator("select[name=venue_id]").select_option(label="yubei venue")
    form.locator("button[type=submit]").click()
    expect(rows).to_have_count(2)
    warnings = page.locator("#lesson-warnings")
    expect(warnings).to_be_visible()
    expect(warnings).to_contain_text("课次已保存")
    expect(warnings).to_contain_text(re.compile(r"2026-05-01 09:00—12:00 的课次（编号 \d+）在 2026-05-01，是劳动节假期"))
    expect(warnings).to_contain_text("文件未明确的事项按项目默认设置（政策摘要第9条）")
    expect(form.locator(".form-error")).to_be_empty()
    assert page.problems == []
