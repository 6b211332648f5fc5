/* /manage/classes/<id>: the plan (lessons, check, filing, amendments) and the trainees
   (enrolment, import, paper consent, face photos, subsidy history), and each trainee's hours from
   the ledger. Every datum comes from the JSON API. 人社 open it read-only: a control shows only
   when page.can (the role's capabilities) holds what its request needs. */
"use strict";

(function () {
  var el = HP.el;
  var page = HP.pageData();
  var classId = page.class_id;
  var base = "/api/classes/" + classId;
  var can = page.can || {};
  var state = { cls: null, lessons: [], venues: {}, teachers: {}, added: [], cancel: {}, trainee: null, consent: null };

  function pageError(error) { HP.showError(document.getElementById("page-error"), error); }

  // --- the class and its lessons ----------------------------------------------------------------

  function loadClass() {
    return HP.api("GET", base).then(function (r) {
      if (!r.ok) {
        pageError(r.data.error);
        document.getElementById("plan-box").classList.add("hidden");
        document.getElementById("trainees-box").classList.add("hidden");
        return false;
      }
      state.cls = r.data;
      state.lessons = r.data.lessons;
      return true;
    });
  }

  function loadStaffLists() {
    var inst = state.cls.institution_id;
    return Promise.all([
      HP.api("GET", "/api/institutions/" + inst + "/venues"),
      HP.api("GET", "/api/institutions/" + inst + "/teachers"),
    ]).then(function (rs) {
      state.venues = {};
      state.teachers = {};
      if (rs[0].ok) rs[0].data.forEach(function (v) { state.venues[v.id] = v; });
      if (rs[1].ok) rs[1].data.forEach(function (t) { state.teachers[t.id] = t; });
      fillSelects();
    });
  }

  function fillSelects() {
    document.querySelectorAll(".venue-select").forEach(function (select) {
      HP.clear(select);
      var ids = Object.keys(state.venues);
      select.appendChild(el("option", { value: "", text: ids.length ? "（线上课不选）" : "（本机构还没有场地）" }));
      ids.forEach(function (id) { select.appendChild(el("option", { value: id, text: state.venues[id].name })); });
      if (ids.length) select.value = ids[0];
    });
    document.querySelectorAll(".teacher-select").forEach(function (select) {
      HP.clear(select);
      select.appendChild(el("option", { value: "", text: "（不指定）" }));
      Object.keys(state.teachers).forEach(function (id) {
        select.appendChild(el("option", { value: id, text: state.teachers[id].name }));
      });
    });
  }

  function renderClass() {
    var c = state.cls;
    fillCategories();
    var occ = page.occupations[c.occupation_code];
    document.getElementById("class-title").textContent = c.name;
    document.title = c.name + " · hourproof 学时核验";
    var facts = HP.clear(document.getElementById("class-facts"));
    function fact(name, value) { HP.append(facts, [el("dt", { text: name }), el("dd", null, value)]); }
    fact("状态", el("span", { class: "badge " + c.status, text: HP.label("status", c.status) }));
    fact("班级编号", String(c.id));
    fact("职业（工种）", c.occupation_code + (occ ? " " + occ : ""));
    fact("等级", HP.label("level", c.level));
    if (c.direction && c.direction !== "—") fact("方向", c.direction);
    fact("地区 / 区县编号", ((page.regions || {})[c.region_code] || c.region_code) + " / " + c.district_id);
    fact("培训日期", c.starts_on + " 至 " + c.ends_on);
    fact("培训类型", HP.label("funding", c.funding));
    fact("培训费", c.fee === null ? "—" : c.fee + " 元/人");
    if (c.filed_at) fact("备案时间", HP.beijingText(c.filed_at));

    var filed = c.status === "filed";
    var plans = !!can.file_classes;
    document.getElementById("plan-file").classList.toggle("hidden", filed || !plans);
    document.getElementById("lessons-box").classList.toggle("hidden", filed || !plans);
    document.getElementById("amend-box").classList.toggle("hidden", !filed || !plans);
    document.querySelectorAll(".cancel-col").forEach(function (n) { n.classList.toggle("hidden", !filed || !plans); });
    renderQuizSetting();
    renderLessons();
    renderAmendments();
  }

  /* The filed plan's amendments: the record of every change, for whoever reads the class's history. */
  function renderAmendments() {
    HP.fillRows(document.querySelector("#amendments-table tbody"), (state.cls.amendments || []).map(function (a) {
      var what = [];
      if (a.cancel_lesson_ids.length) what.push("取消课次 " + a.cancel_lesson_ids.join("、"));
      if (a.added_lessons) what.push("新增 " + a.added_lessons + " 个课次");
      return el("tr", null, el("td", { text: a.id }), el("td", { text: HP.beijingText(a.at) }),
        el("td", { text: a.by || "—" }), el("td", { text: a.reason }), el("td", { text: what.join("，") || "—" }));
    }), 5, "没有计划变更。");
  }

  function hoursBetween(a, b) { return (new Date(b) - new Date(a)) / 3600000; }

  /* A draft plan's lesson added by mistake is removed outright (recorded in the audit trail);
     a filed plan's lessons are only cancelled by an amendment. */
  function removeDraftLesson(x) {
    var s = HP.beijing(x.starts_at);
    if (!window.confirm("删除课次 " + x.id + "（" + s.date + " " + s.time + "）？")) return;
    HP.api("DELETE", base + "/lessons/" + x.id).then(function (r) {
      if (!r.ok) { window.alert(r.data.error.message); return; }
      refresh();
    });
  }

  function renderLessons() {
    var filed = state.cls.status === "filed";
    var plans = !!can.file_classes;
    var total = 0, online = 0, active = 0;
    var rows = state.lessons.map(function (x) {
      var s = HP.beijing(x.starts_at), e = HP.beijing(x.ends_at);
      var cancelled = !!x.cancelled_at;
      var h = hoursBetween(x.starts_at, x.ends_at);
      if (!cancelled) { active++; total += h; if (x.mode === "online") online += h; }
      var status = cancelled ? "已取消" + (x.amendment_id ? "（变更 " + x.amendment_id + "）" : "")
        : (x.amendment_id ? "变更新增（变更 " + x.amendment_id + "）" : "有效");
      var box = null;
      if (filed && plans) {
        box = el("td", { class: "cancel-col" }, cancelled ? "" : el("input", {
          type: "checkbox", "aria-label": "取消课次 " + x.id, checked: !!state.cancel[x.id],
          onchange: function (ev) {
            if (ev.target.checked) state.cancel[x.id] = true; else delete state.cancel[x.id];
            renderAmendSummary();
          },
        }));
      }
      var venue = x.venue_id ? (state.venues[x.venue_id] || {}).name || ("场地 " + x.venue_id) : "—";
      var teacher = x.teacher_id ? (state.teachers[x.teacher_id] || {}).name || ("教师 " + x.teacher_id) : "—";
      return el("tr", { class: cancelled ? "cancelled" : "" }, box,
        el("td", { text: x.id }), el("td", { text: s.date + " " + s.weekday }),
        el("td", { text: s.time + "–" + e.time + (e.date !== s.date ? "（次日）" : "") }),
        el("td", { text: HP.label("mode", x.mode) }), el("td", { text: HP.label("content", x.content) }),
        el("td", { text: venue }), el("td", { text: teacher }), el("td", { text: x.title || "—" }, mediaCell(x, cancelled)),
        el("td", null, status, filed || !plans ? null : [" ", el("button", {
          type: "button", class: "link danger", "aria-label": "删除课次 " + x.id, text: "删除",
          onclick: function () { removeDraftLesson(x); },
        })]));
    });
    HP.fillRows(document.querySelector("#lessons-table tbody"), rows, 10,
                filed || !plans ? "没有课次。" : "还没有课次，请在下方添加。");
    document.getElementById("lesson-totals").textContent = active
      ? "有效课次 " + active + " 个，共 " + round(total) + " 小时，其中线上 " + round(online) + " 小时。点“检查计划”查看按规定折算的学时。"
      : "";
    renderAmendSummary();
  }

  /* An online lesson's video (played in the trainees' online classroom): what is there, and an
     upload (MP4, H.264; the server measures it and refuses what a phone cannot play). */
  function mediaCell(x, cancelled) {
    if (x.mode !== "online" || cancelled) return null;
    var m = x.media;
    var shown = el("div", { class: "muted small media-state", text: !m ? "课程视频：未上传（学员只能在本页停留学习）"
      : m.kind === "live" ? "直播：" + m.src
      : "课程视频：" + (m.filename || m.src) + (m.duration_s ? "（" + Math.round(m.duration_s / 60 * 10) / 10 + " 分钟）" : "") });
    if (!can.manage_lesson_media) return el("div", { class: "media" }, shown);
    var file = el("input", { type: "file", accept: "video/mp4", class: "hidden", "aria-label": "课次 " + x.id + " 的课程视频" });
    var button = el("button", { type: "button", class: "link", text: m ? "更换视频" : "上传视频" });
    var error = el("div", { class: "form-error", "aria-live": "polite" });
    button.addEventListener("click", function () { file.click(); });
    file.addEventListener("change", function () {
      if (!file.files.length) return;
      var data = new FormData();
      data.append("video", file.files[0]);
      HP.clearError(error);
      shown.textContent = "正在上传 " + file.files[0].name + " …";
      HP.busy(button, true);
      HP.api("POST", "/api/lessons/" + x.id + "/media", data).then(function (r) {
        HP.busy(button, false);
        if (!r.ok) { HP.showError(error, r.data.error); shown.textContent = "上传未完成"; return; }
        x.media = r.data;
        renderLessons();
      });
    });
    var quiz = null;
    if (m && m.kind === "recorded" && state.cls.quizzes_enabled) {
      quiz = el("button", { type: "button", class: "link quiz-edit",
                            text: x.quiz_checkpoints ? "课程测验（" + x.quiz_checkpoints + " 个测验点）" : "设置课程测验",
                            onclick: function () { openQuiz(x); } });
    }
    return el("div", { class: "media" }, shown, button, quiz, file, error);
  }

  // --- checkpoint quizzes (课程测验) ------------------------------------------------------------

  /* "12:30", "1:02:05" or plain seconds; NaN when it is none of these. */
  function seconds(text) {
    var parts = String(text).trim().split(/[:：]/);
    if (!parts[0] || parts.some(function (p) { return !/^\d+(\.\d+)?$/.test(p); }) || parts.length > 3) return NaN;
    return parts.reduce(function (acc, p) { return acc * 60 + Number(p); }, 0);
  }
  function mmss(total) {
    var s = Math.max(0, Math.round(total)), m = Math.floor(s / 60);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return (m >= 60 ? Math.floor(m / 60) + ":" + two(m % 60) : String(m)) + ":" + two(s % 60);
  }

  function blankQuestion() { return { text: "", options: ["", "", "", ""], answer: 0 }; }

  function questionBox(q, pi, qi) {
    var box = el("fieldset", { class: "quiz-question" }, el("legend", { text: "第 " + (qi + 1) + " 题" }));
    box.appendChild(el("label", null, "题干 ", el("input", { name: "text", class: "q-text", maxlength: "500", value: q.text })));
    var opts = q.options.slice();
    while (opts.length < 4) opts.push("");
    opts.forEach(function (o, oi) {
      box.appendChild(el("div", { class: "quiz-option" },
        el("input", { type: "radio", name: "answer-" + pi + "-" + qi, value: String(oi), checked: q.answer === oi,
                      "aria-label": "第 " + (qi + 1) + " 题正确答案为选项 " + (oi + 1) }),
        el("input", { class: "q-option", maxlength: "500", value: o, placeholder: "选项 " + (oi + 1) + (oi > 1 ? "（可不填）" : ""),
                      "aria-label": "第 " + (qi + 1) + " 题选项 " + (oi + 1) })));
    });
    return box;
  }

  function pointBox(point, pi) {
    var box = el("fieldset", { class: "quiz-point" }, el("legend", { text: "测验点 " + (pi + 1) }));
    box.appendChild(el("label", null, "视频位置（分:秒） ",
      el("input", { name: "position_s", class: "q-position", value: point.position_s ? mmss(point.position_s) : "", placeholder: "如 12:30" })));
    var list = el("div", { class: "quiz-questions" });
    point.questions.forEach(function (q, qi) { list.appendChild(questionBox(q, pi, qi)); });
    box.appendChild(list);
    box.appendChild(el("div", { class: "actions" },
      el("button", { type: "button", class: "link", text: "添加题目", onclick: function () {
        var n = list.querySelectorAll(".quiz-question").length;
        if (n >= 5) { window.alert("每个测验点最多 5 道题"); return; }
        list.appendChild(questionBox(blankQuestion(), pi, n));
      } }),
      el("button", { type: "button", class: "link danger", text: "删除本测验点", onclick: function () { box.remove(); } })));
    return box;
  }

  function readQuiz() {
    var points = [];
    document.querySelectorAll("#quiz-points .quiz-point").forEach(function (box) {
      var questions = [];
      box.querySelectorAll(".quiz-question").forEach(function (qbox) {
        var options = [], answer = -1;
        var inputs = qbox.querySelectorAll(".q-option"), radios = qbox.querySelectorAll("input[type=radio]");
        inputs.forEach(function (input, oi) {
          if (!input.value.trim()) return;
          if (radios[oi].checked) answer = options.length;
          options.push(input.value.trim());
        });
        questions.push({ text: qbox.querySelector(".q-text").value, options: options, answer: answer });
      });
      var at = seconds(box.querySelector(".q-position").value);
      points.push({ position_s: isNaN(at) ? null : at, questions: questions });
    });
    return { checkpoints: points };
  }

  function openQuiz(x) {
    var dialog = document.getElementById("quiz-dialog"), list = HP.clear(document.getElementById("quiz-points"));
    var form = document.getElementById("quiz-form");
    HP.clearError(form);
    state.quizLesson = x;
    var s = HP.beijing(x.starts_at);
    document.getElementById("quiz-dialog-title").textContent = "课程测验 · 课次 " + x.id + "（" + s.date + "）";
    list.appendChild(el("p", { class: "muted", text: "加载中…" }));
    if (!dialog.open) dialog.showModal();
    HP.api("GET", "/api/lessons/" + x.id + "/quiz").then(function (r) {
      HP.clear(list);
      if (!r.ok) { HP.showError(form, r.data.error); return; }
      var points = r.data.quiz ? r.data.quiz.checkpoints
        : [{ position_s: x.media && x.media.duration_s ? Math.floor(x.media.duration_s) : 0,
             questions: [blankQuestion(), blankQuestion(), blankQuestion()] }];
      points.forEach(function (p, pi) { list.appendChild(pointBox(p, pi)); });
    });
  }

  function wireQuizzes() {
    var dialog = document.getElementById("quiz-dialog"), form = document.getElementById("quiz-form");
    document.getElementById("quiz-cancel").addEventListener("click", function () { dialog.close(); });
    document.getElementById("quiz-add-point").addEventListener("click", function () {
      var list = document.getElementById("quiz-points");
      list.appendChild(pointBox({ position_s: 0, questions: [blankQuestion(), blankQuestion(), blankQuestion()] },
                                list.querySelectorAll(".quiz-point").length));
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var x = state.quizLesson, save = document.getElementById("quiz-save");
      HP.clearError(form);
      HP.busy(save, true);
      HP.api("POST", "/api/lessons/" + x.id + "/quiz", readQuiz()).then(function (r) {
        HP.busy(save, false);
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        x.quiz_checkpoints = r.data.quiz.checkpoints.length;
        dialog.close();
        renderLessons();
      });
    });
    var toggle = document.getElementById("quiz-toggle");
    toggle.addEventListener("change", function () {
      var error = document.getElementById("quiz-toggle-error");
      HP.clearError(error);
      toggle.disabled = true;
      HP.api("POST", base + "/quizzes", { enabled: toggle.checked }).then(function (r) {
        toggle.disabled = false;
        if (!r.ok) { toggle.checked = !toggle.checked; HP.showError(error, r.data.error); return; }
        state.cls.checkpoint_quizzes = r.data.checkpoint_quizzes;
        state.cls.quizzes_enabled = r.data.quizzes_enabled;
        renderQuizSetting();
        renderLessons();
      });
    });
  }

  function renderQuizSetting() {
    var c = state.cls, toggle = document.getElementById("quiz-toggle");
    toggle.checked = !!c.quizzes_enabled;
    // Where the region turned them on for every class, the class cannot turn them off.
    var byRegion = c.quizzes_enabled && !c.checkpoint_quizzes;
    toggle.disabled = byRegion;
    document.getElementById("quiz-toggle-note").textContent = byRegion ? "本地区要求录播课设置课程测验。" : "";
  }

  function round(n) { return Math.round(n * 100) / 100; }

  // --- lesson fields (shared by "add lessons" and the amendment form) ---------------------------

  function wireModeToggle(form) {
    var mode = form.elements.mode, venue = form.elements.venue_id;
    function sync() {
      var online = mode.value === "online";
      venue.disabled = online;
      if (online) venue.value = "";
      else if (!venue.value && venue.options.length > 1) venue.value = venue.options[1].value;
    }
    mode.addEventListener("change", sync);
  }

  function lessonBody(form, date) {
    var v = HP.values(form);
    var body = {
      starts_at: HP.beijingIso(date, v.start), ends_at: HP.beijingIso(date, v.end), mode: v.mode, content: v.content,
    };
    if (v.mode === "offline" && v.venue_id) body.venue_id = Number(v.venue_id);
    if (v.teacher_id) body.teacher_id = Number(v.teacher_id);
    if (v.title) body.title = v.title;
    return body;
  }

  function lessonFieldsMissing(form) {
    var v = HP.values(form);
    var missing = [];
    if (!v.date) missing.push({ field: "date", message: "请选择日期", type: "missing" });
    if (!v.start) missing.push({ field: "start", message: "请填写开始时间", type: "missing" });
    if (!v.end) missing.push({ field: "end", message: "请填写结束时间", type: "missing" });
    return missing.length ? { message: "请填写课次的日期和时间", fields: missing } : null;
  }

  /* The dates of a series: `count` lessons from `first`, every `every` days, optionally on weekdays only. */
  function seriesDates(first, count, every, skipWeekends) {
    var out = [], d = first, guard = 0;
    while (out.length < count && guard++ < 2000) {
      var day = new Date(d + "T00:00:00Z").getUTCDay();
      if (skipWeekends && (day === 0 || day === 6)) { d = HP.addDays(d, 1); continue; }
      out.push(d);
      d = HP.addDays(d, every);
    }
    return out;
  }

  // --- plan check and filing ----------------------------------------------------------------------

  function renderCheck(check, heading, ok) {
    var box = HP.clear(document.getElementById("plan-result"));
    box.className = "result " + (ok ? "good" : "bad");
    HP.append(box, el("h3", { text: heading }));
    var share = (Number(check.online_share) * 100).toFixed(1);
    HP.append(box, el("p", null,
      "计划学时 " + check.scheduled_hours + " 学时（每学时 " + check.minutes_per_class_hour + " 分钟）；" +
      "规定学时 " + (check.required_hours === null ? "—" : check.required_hours) + " 学时；" +
      "线上 " + check.online_hours + " 学时，占 " + share + "%。"));
    if (check.violations.length) {
      HP.append(box, el("p", { text: "共 " + check.violations.length + " 处不符合规定：" }));
      HP.append(box, HP.violationsTable(check.violations));
    } else {
      HP.append(box, el("p", { text: "未发现不符合规定之处。" }));
    }
    // Not refusals: the trainees' categories the subsidy rules cannot judge (said before any export).
    (check.warnings || []).forEach(function (w) {
      HP.append(box, el("p", { class: "note" }, w.message + " ", el("span", { class: "clause", text: "依据：" + HP.clauseText(w.clause) })));
    });
    box.scrollIntoView({ block: "nearest" });
  }

  /* Warnings on lessons just added (POST .../lessons, an amendment): the lessons ARE stored; these say
     what filing or the day itself would otherwise tell later (outside the class dates, a statutory
     holiday or 调休 day off, a year whose holidays are not known yet). Shown beside the plan table. */
  function renderLessonWarnings(warnings) {
    var box = HP.clear(document.getElementById("lesson-warnings"));
    box.className = warnings && warnings.length ? "notice warn" : "hidden";
    if (!warnings || !warnings.length) return;
    HP.append(box, el("p", null, el("b", { text: "课次已保存，但有 " + warnings.length + " 处需要留意：" })));
    HP.append(box, el("ul", null, warnings.map(function (w) {
      return el("li", null, w.message + " ", el("span", { class: "clause", text: "依据：" + HP.clauseText(w.clause) }));
    })));
    box.scrollIntoView({ block: "nearest" });
  }

  function renderPlainError(error) {
    var box = HP.clear(document.getElementById("plan-result"));
    box.className = "result";
    HP.append(box, el("div", { class: "form-error" }));
    HP.showError(box, error);
  }

  function planCheck() {
    var button = document.getElementById("plan-check");
    HP.busy(button, true);
    return HP.api("GET", base + "/plan-check").then(function (r) {
      HP.busy(button, false);
      if (!r.ok) { renderPlainError(r.data.error); return; }
      renderCheck(r.data, r.data.accepted ? "检查通过：计划符合规定，可以提交备案" : "检查未通过：计划不符合规定", r.data.accepted);
    });
  }

  function fileClass() {
    var button = document.getElementById("plan-file");
    HP.busy(button, true);
    return HP.api("POST", base + "/file").then(function (r) {
      HP.busy(button, false);
      if (r.ok) {
        return refresh().then(function () { renderCheck(r.data.check, "已备案：计划符合规定，已冻结；此后只能通过计划变更修改", true); });
      }
      var error = r.data.error;
      if (error.check) renderCheck(error.check, "未予备案：培训计划不符合规定，请修改后重新提交", false);
      else renderPlainError(error);
    });
  }

  // --- amendments ---------------------------------------------------------------------------------

  function renderAmendSummary() {
    var cancel = Object.keys(state.cancel).length;
    document.getElementById("amend-summary").textContent =
      "将取消 " + cancel + " 个课次，新增 " + state.added.length + " 个课次。";
    HP.fillRows(document.querySelector("#amend-added tbody"), state.added.map(function (x, i) {
      var s = HP.beijing(x.starts_at), e = HP.beijing(x.ends_at);
      return el("tr", null, el("td", { text: s.date + " " + s.weekday + " " + s.time + "–" + e.time }),
        el("td", { text: HP.label("mode", x.mode) }), el("td", { text: HP.label("content", x.content) }),
        el("td", { text: x.venue_id ? (state.venues[x.venue_id] || {}).name || x.venue_id : "—" }),
        el("td", null, el("button", { type: "button", class: "link", text: "移除", onclick: function () {
          state.added.splice(i, 1);
          renderAmendSummary();
        } })));
    }), 5, "暂无");
  }

  // --- trainees -----------------------------------------------------------------------------------

  function loadEnrollments() {
    return HP.api("GET", base + "/enrollments").then(function (r) {
      if (!r.ok) { pageError(r.data.error); return; }
      HP.fillRows(document.querySelector("#enrollments-table tbody"), r.data.map(function (e) {
        var t = e.trainee;
        return el("tr", null, el("td", { text: e.id }), el("td", { text: t.name }),
          el("td", { class: "mono", text: t.resident_id }), el("td", { class: "mono", text: t.phone || "—" }),
          el("td", { class: e.subsidy_category_known ? "" : "warn", text: e.subsidy_category_name || "未填写" }),
          el("td", { text: HP.label("employment", e.employment_at_start) }),
          el("td", { text: HP.beijingText(e.enrolled_at) }),
          el("td", { class: e.consent === "granted" && e.face_enrolled ? "" : "warn",
                     text: (e.consent === "granted" ? "已同意" : e.consent === "withdrawn" ? "已撤回同意" : "未同意") +
                           " · " + (e.face_enrolled ? "已采集人脸" : e.face_held ? "人脸待人社复核" : "未采集人脸") +
                           (e.face_enrolled && e.face_held ? "（新登记人脸待人社复核）" : "") }),
          el("td", null, can.enrol_trainees ? el("button", { type: "button", class: "small", text: "同意书、人脸照片、补贴记录与登录账号",
                                                             onclick: function () { openTrainee(t, e.account); } }) : "—"));
      }), 9, can.enrol_trainees ? "还没有学员，请在下方报名或导入。" : "本班没有学员。");
      showCategoryWarnings(r.data);
      renderSlipChoices(r.data);
      loadHours(r.data);
      return loadTemplateChanges();
    });
  }

  /* Each trainee's hours from the ledger (学时台账), one request per enrollment, a few at a time,
     so a large class fills in steadily instead of flooding the server. */
  function loadHours(enrollments) {
    var tbody = document.querySelector("#hours-table tbody");
    if (!enrollments.length) { HP.fillRows(tbody, [], 7, "本班没有学员。"); return; }
    var rows = {};
    HP.fillRows(tbody, enrollments.map(function (e) {
      rows[e.id] = el("tr", { "data-enrollment-id": String(e.id) }, el("td", { text: e.trainee.name }),
                      el("td", { class: "muted", colspan: "6", text: "加载中…" }));
      return rows[e.id];
    }), 7, "");
    var queue = enrollments.slice();
    function next() {
      var e = queue.shift();
      if (!e) return Promise.resolve();
      return HP.api("GET", "/api/enrollments/" + e.id + "/ledger").then(function (r) {
        var row = rows[e.id];
        HP.clear(row);
        if (!r.ok) {
          HP.append(row, [el("td", { text: e.trainee.name }), el("td", { colspan: "6", class: "warn", text: r.data.error.message })]);
        } else {
          var l = r.data, c = l.credited;
          HP.append(row, [el("td", { text: e.trainee.name }), el("td", { text: l.required_hours }),
            el("td", { text: l.verified.offline + " / " + l.verified.online }),
            el("td", { text: c.offline + " / " + c.online }),
            el("td", { class: "hours-credited", text: c.total }),
            el("td", { class: c.complete ? "" : "warn", text: c.complete ? "已达到" : "未达到" }),
            el("td", { class: "muted", text: l.reasons.map(function (x) { return x.detail; }).join("；") || "—" })]);
        }
        return next();
      });
    }
    return Promise.all([next(), next(), next()]);
  }

  var EVENT_KINDS = { check_in: "签到", check_out: "签退", spot_check: "随机抽查", spot_check_answer: "随机抽查" };

  /* The class's records waiting for a reviewer (reviewers only; they decide on /live). */
  function loadReviews() {
    var table = document.getElementById("reviews-table");
    if (!table) return Promise.resolve();
    return HP.api("GET", base + "/review-queue").then(function (r) {
      var tbody = table.querySelector("tbody");
      if (!r.ok) { HP.fillRows(tbody, [], 4, r.data.error.message); return; }
      HP.fillRows(tbody, r.data.map(function (e) {
        return el("tr", null, el("td", { text: HP.beijingText(e.at) }), el("td", { text: e.trainee_name }),
          el("td", { text: EVENT_KINDS[e.kind] || "核验记录" }),
          el("td", { text: (e.reasons || []).map(function (x) { return x.detail; }).join("；") || "—" }));
      }), 4, "没有待复核的记录。");
    });
  }

  /* Every deadline of this class (open and done), each with the rule's clause. */
  function loadDuties() {
    var table = document.getElementById("class-duties-table");
    if (!table) return Promise.resolve();
    return HP.api("GET", "/api/duties?status=all&class_id=" + classId).then(function (r) {
      var tbody = table.querySelector("tbody");
      if (!r.ok) { HP.fillRows(tbody, [], 4, r.data.error.message); return; }
      HP.fillRows(tbody, r.data.map(function (d) {
        return el("tr", { "data-duty": String(d.id) }, el("td", null, el("span", { class: "badge " + d.status, text: d.status_zh })),
          el("td", { text: d.due_on }), el("td", { text: d.detail }),
          el("td", null, el("span", { class: "clause", text: HP.clauseText(d.clause) })));
      }), 4, "本班没有备案或申报期限。");
    });
  }

  var TEMPLATE_STATUS = { in_force: "已生效", held: "待人社复核", approved: "人社复核通过", rejected: "人社复核不通过",
                          erased: "已删除（撤回同意）" };
  var HOLD_WHY = { duplicate: "与其他学员人脸相似", changed_face: "与原登记人脸差异较大" };

  function loadTemplateChanges() {
    return HP.api("GET", base + "/template-changes").then(function (r) {
      var tbody = document.querySelector("#template-changes-table tbody");
      if (!r.ok) { HP.fillRows(tbody, [], 4, r.data.error.message); return; }
      HP.fillRows(tbody, r.data.map(function (c) {
        var status = TEMPLATE_STATUS[c.status] || c.status;
        if (c.hold) status += "（" + c.hold.reasons.map(function (w) { return HOLD_WHY[w] || w; }).join("、") + "）";
        if (c.in_use) status += " · 当前用于签到";
        return el("tr", null, el("td", { text: HP.beijingText(c.created_at) }), el("td", { text: c.trainee.name }),
          el("td", { text: c.replaces_id ? "重新采集（原因：" + (c.reason || "—") + "）" : "首次采集" }),
          el("td", { class: c.status === "held" || c.status === "rejected" ? "warn" : "", text: status }));
      }), 4, "近 30 天没有人脸模板变更。");
    });
  }

  function openTrainee(t, account) {
    state.trainee = t;
    state.account = account || null;
    renderAccount();
    var panel = document.getElementById("trainee-panel");
    panel.classList.remove("hidden");
    document.getElementById("trainee-panel-title").textContent = "学员：" + t.name + "（" + t.resident_id + "）";
    ["consent-form", "photo-consent-form", "face-form", "history-form", "history-check-form", "unbind-form", "reissue-form"].forEach(function (id) {
      var form = document.getElementById(id);
      form.reset();
      HP.clearError(form);
      var done = form.querySelector(".done");
      if (done) done.remove();
    });
    document.getElementById("history-check-form").elements.checked_on.value = todayInBeijing();
    state.consent = null;  // the notices state the figures of this trainee's region
    loadConsentText();
    loadHistory();
    panel.scrollIntoView({ block: "start" });
  }

  // --- subsidy history (what the frequency limits of the subsidy decision count) -----------------

  var SOURCE_ZH = { declaration: "学员申报", hrss: "人社系统查询", other: "其他材料", sealed_export: "本系统补贴申报（封存）" };
  var KIND_ZH = { training: "培训补贴", evaluation: "评价补贴" };

  function todayInBeijing() { return HP.beijing(new Date().toISOString()).date; }

  function historyUrl() { return "/api/trainees/" + state.trainee.id + "/subsidy-history"; }

  function fillHistorySelects() {
    var occ = document.getElementById("history-occupation");
    HP.clear(occ);
    Object.keys(page.occupations).forEach(function (code) {
      occ.appendChild(el("option", { value: code, text: code + " " + page.occupations[code] }));
    });
    var region = document.getElementById("history-region");
    HP.clear(region);
    region.appendChild(el("option", { value: "", text: "不详（计入各地区的限制）" }));
    Object.keys(page.regions || {}).forEach(function (code) {
      region.appendChild(el("option", { value: code, text: page.regions[code] + "（" + code + "）" }));
    });
  }

  function historyRow(e) {
    var source = e.source_zh || SOURCE_ZH[e.source] || e.source;
    if (e.class) source += "：" + e.class.name + "（班级 " + e.class.id + "）";
    var recorded = e.recorded_by ? e.recorded_by + " " + HP.beijingText(e.recorded_at)
      : "封存于 " + HP.beijingText(e.recorded_at);
    var action = null;
    if (e.retracted) {
      action = "已撤回：" + e.retracted.reason + "（" + e.retracted.by + "）";
    } else if (e.id !== null) {
      action = el("button", { type: "button", class: "link danger", text: "撤回", "aria-label": "撤回补贴记录 " + e.id,
                              onclick: function () { retractHistory(e); } });
    }
    return el("tr", { class: e.retracted ? "cancelled" : "" }, el("td", { text: source }),
      el("td", { text: e.occupation_code + (e.occupation_name ? " " + e.occupation_name : "") }),
      el("td", { text: HP.label("level", e.level) }), el("td", { text: e.training_start }),
      el("td", { text: KIND_ZH[e.kind] || e.kind }),
      el("td", { text: e.region_code ? (page.regions || {})[e.region_code] || e.region_code : "不详" }),
      el("td", { text: recorded + (e.note ? "；" + e.note : "") }), el("td", null, action));
  }

  function loadHistory() {
    var status = document.getElementById("history-status");
    var tbody = document.querySelector("#history-table tbody");
    return HP.api("GET", historyUrl()).then(function (r) {
      if (!r.ok) {
        status.className = "notice warn";
        status.textContent = r.data.error.message;
        HP.fillRows(tbody, [], 8, "—");
        return;
      }
      var h = r.data, last = h.checks[0];
      status.className = h.checked_on ? "" : "notice warn";
      status.textContent = h.checked_on
        ? "最近一次全面核对：" + h.checked_on + "（" + last.source_zh + "，" + last.recorded_by + " 登记" +
          (last.note ? "：" + last.note : "") + "）。补贴核定按下表记录核对频次限制。"
        : "尚未登记全面核对：补贴核定只按下表已知的记录核对频次限制，并注明“补贴享受记录未核对”。";
      HP.fillRows(tbody, h.entries.map(historyRow), 8, "没有已知的补贴享受记录。");
    });
  }

  function retractHistory(e) {
    var reason = window.prompt("撤回这条补贴记录（" + e.occupation_code + " " + HP.label("level", e.level) + "，" +
                               e.training_start + "）的原因：");
    if (reason === null) return;
    HP.api("POST", historyUrl() + "/" + e.id + "/retract", { reason: reason.trim() }).then(function (r) {
      if (!r.ok) { window.alert(r.data.error.message); return; }
      loadHistory();
    });
  }

  // Each purpose has its own notice (biometric: 人脸核验; photo_keeping: 留存签到照片作为证据),
  // consented to and withdrawn on its own; state.consent maps purpose -> notice.
  var CONSENT_BOXES = { biometric: ["consent-text", "consent-version"], photo_keeping: ["photo-consent-text", "photo-consent-version"] };

  function loadConsentText() {
    if (state.consent) return Promise.resolve(state.consent);
    var trainee = state.trainee;
    return HP.api("GET", "/api/consent-text?trainee_id=" + trainee.id).then(function (r) {
      if (state.trainee !== trainee) return null;  // another trainee was opened meanwhile
      if (!r.ok) {
        Object.keys(CONSENT_BOXES).forEach(function (p) { document.getElementById(CONSENT_BOXES[p][0]).textContent = r.data.error.message; });
        return null;
      }
      state.consent = {};
      r.data.purposes.forEach(function (n) {
        var ids = CONSENT_BOXES[n.purpose];
        if (!ids) return;
        state.consent[n.purpose] = n;
        document.getElementById(ids[0]).textContent = n.text;
        document.getElementById(ids[1]).textContent = "（告知书版本：" + n.version + "）";
      });
      return state.consent;
    });
  }

  function done(form, text) {
    var old = form.querySelector(".done");
    if (old) old.remove();
    form.appendChild(el("p", { class: "done", role: "status", text: text }));
  }

  function recordConsent(form, purpose, granted) {
    if (!state.consent || !state.consent[purpose]) return Promise.resolve(HP.showError(form, { message: "告知书尚未加载，请稍后重试" }));
    return HP.api("POST", "/api/trainees/" + state.trainee.id + "/consent",
                  { purpose: purpose, granted: granted, channel: "paper", text_version: state.consent[purpose].version }).then(function (r) {
      if (!r.ok) {
        if (r.data.error.code === "consent_text_outdated") { state.consent = null; loadConsentText(); }  // show the new text
        HP.showError(form, r.data.error);
        return;
      }
      var withdrawn = purpose === "biometric" ? "已登记撤回，学员的人脸模板已删除" : "已登记撤回，签到照片将在复核期结束后删除";
      done(form, (granted ? "已登记同意" : withdrawn) + "（" + HP.beijingText(r.data.at) +
                 "，告知书版本 " + r.data.text_version + "）。");
      return loadEnrollments();  // the roster's 人脸核验准备 says it at once, not after a reload
    });
  }

  function showEnrolled(data) {
    var box = HP.clear(document.getElementById("enroll-result"));
    var t = data.trainee;
    box.className = "result good";
    HP.append(box, el("h3", { text: "已报名：" + t.name }));
    if (data.activation_code) {
      HP.append(box, el("p", null, "登录账号：", el("b", { class: "mono", text: t.phone || t.resident_id })));
      HP.append(box, el("p", null, "一次性激活码：", el("b", { class: "code", id: "activation-code", text: data.activation_code })));
      HP.append(box, el("p", { class: "note", text: "请把激活码当面交给学员本人（只显示这一次，请勿拍照外传）。学员首次在手机签到页面登录时，用它设置自己的密码并绑定手机。" }));
      if (can.reissue_activation_codes) HP.append(box, slipsButton([{ trainee_id: t.id, activation_code: data.activation_code }], box));
    } else {
      HP.append(box, el("p", { text: "该学员已有登录账号（以前报名时已创建），无需新的激活码。" }));
    }
    (data.warnings || []).forEach(function (w) { HP.append(box, el("p", { class: "note", text: w.message })); });
  }

  /* Trainees whose 补贴类别 the subsidy rules cannot judge: said here, before any filing or export. */
  function showCategoryWarnings(rows) {
    var box = HP.clear(document.getElementById("category-warnings"));
    var names = (state.cls.subsidy_categories || []).map(function (g) { return g.name; });
    if (!names.length) { box.classList.add("hidden"); return; }
    var missing = rows.filter(function (e) { return !e.subsidy_category; });
    var unknown = rows.filter(function (e) { return e.subsidy_category && !e.subsidy_category_known; });
    function who(list) {
      return list.slice(0, 5).map(function (e) { return e.trainee.name; }).join("、") + (list.length > 5 ? " 等" : "");
    }
    if (missing.length) HP.append(box, el("p", { text: missing.length + " 名学员未填写补贴类别（" + who(missing) + "）：补贴核定将无法判断其是否属于本地补贴对象。" }));
    if (unknown.length) HP.append(box, el("p", { text: unknown.length + " 名学员的补贴类别不是本地区的类别（" + who(unknown) + "）：补贴核定会判为不属于补贴对象。" }));
    if (missing.length || unknown.length) HP.append(box, el("p", { class: "small", text: "本地区的补贴对象类别：" + names.join("、") + "。" }));
    box.classList.toggle("hidden", !(missing.length || unknown.length));
  }

  /* The region's subsidised groups as the enrolment form's list, and named beside the import. */
  function fillCategories() {
    var groups = state.cls.subsidy_categories || [];
    var select = document.querySelector("#enroll-form select[name=subsidy_category]");
    while (select.options.length > 1) select.remove(1);
    groups.forEach(function (g) { select.appendChild(el("option", { value: g.code, title: g.detail, text: g.name })); });
    document.getElementById("import-categories").textContent = groups.length
      ? groups.map(function (g) { return g.name; }).join("、") : "本地区不限类别";
  }

  //: Column names as the import file's headings say them (the form's own field names differ).
  var IMPORT_FIELDS = { name: "姓名", resident_id: "身份证号", phone: "手机号", class_id: "班级编号",
                        subsidy_category: "补贴类别", employment_at_start: "培训前就业状态", "(row)": "整行" };

  function showImport(data) {
    var box = HP.clear(document.getElementById("import-result"));
    box.className = "result " + (data.failed ? "bad" : "good");
    HP.append(box, el("h3", { text: "导入完成：成功 " + data.imported + " 行，失败 " + data.failed + " 行" }));
    if (data.rows.some(function (r) { return r.activation_code; })) {
      HP.append(box, el("p", { class: "note", text: "新学员的一次性激活码只显示这一次：请打印激活单（每张 A4 纸 4 份，沿虚线剪开），逐一当面交给学员本人。" }));
      if (can.reissue_activation_codes) {
        HP.append(box, slipsButton(data.rows.filter(function (r) { return r.activation_code; }).map(function (r) {
          return { trainee_id: r.trainee_id, activation_code: r.activation_code };
        }), box));
      }
    }
    HP.append(box, el("table", { class: "data" },
      el("thead", null, el("tr", null, ["行号", "姓名", "结果", "激活码"].map(function (h) { return el("th", { text: h }); }))),
      el("tbody", null, data.rows.map(function (row) {
        var result = row.ok ? el("div", null, el("span", { class: "ok", text: "成功" }),
            row.note ? el("p", { class: "small", text: row.note }) : null,
            (row.warnings || []).map(function (w) { return el("p", { class: "small warn", text: w }); }))
          : el("ul", { class: "errors" }, row.errors.map(function (e) {
            return el("li", null, el("b", { text: (IMPORT_FIELDS[e.field] || HP.fieldName(e.field)) + "：" }), e.message);
          }));
        return el("tr", { class: row.ok ? "" : "failed" }, el("td", { text: row.row }), el("td", { text: row.name || "—" }),
          el("td", null, result), el("td", { class: "code", text: row.activation_code || "" }));
      }))));
  }

  // --- account recovery and activation slips ------------------------------------------------------

  /* Download the activation slips (PDF) of [{trainee_id, activation_code}]: the codes are only in
     this page (the server keeps their hashes), so they are sent back to be checked and printed. */
  function printSlips(slips, box) {
    var error = box.querySelector(".form-error");
    if (!error) error = HP.append(box, el("div", { class: "form-error", "aria-live": "polite" })).lastChild;
    HP.clearError(error);
    return HP.api("GET", "/api/auth/me").then(function (me) {
      return fetch(base + "/activation-slips", {
        method: "POST", credentials: "same-origin", body: JSON.stringify({ slips: slips }),
        headers: { "Content-Type": "application/json", Accept: "application/pdf", "X-CSRF-Token": me.data.csrf_token || "" },
      });
    }).then(function (resp) {
      if (!resp.ok) {
        return resp.json().then(function (d) { HP.showError(error, d.error); },
                                function () { HP.showError(error, { message: "激活单生成失败（HTTP " + resp.status + "），请稍后重试" }); });
      }
      return resp.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = el("a", { href: url, download: "激活单-" + (state.cls ? state.cls.name : classId) + ".pdf" });
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      });
    }, function () { HP.showError(error, { message: "网络连接失败，激活单未生成，请检查网络后重试" }); });
  }

  function slipsButton(slips, box) {
    var button = el("button", { type: "button", class: "print-slips", text: "打印激活单（" + slips.length + " 人）" });
    button.addEventListener("click", function () {
      HP.busy(button, true);
      printSlips(slips, box).then(function () { HP.busy(button, false); });
    });
    return button;
  }

  function renderAccount() {
    var status = document.getElementById("account-status");
    var a = state.account;
    HP.clear(document.getElementById("reissue-result")).className = "";
    ["unbind-form", "reissue-form"].forEach(function (id) {
      document.getElementById(id).querySelector('button[type="submit"]').disabled = !a;
    });
    if (!a) { status.textContent = "该学员没有登录账号。"; return; }
    status.textContent = (a.activated ? "已激活（已设置密码）" : "尚未激活（还没有用激活码设置密码）") + "；" +
      (a.device_bound ? "已绑定手机（" + HP.beijingText(a.device_bound_at) + " 绑定）" : "未绑定手机");
    document.getElementById("unbind-form").querySelector('button[type="submit"]').disabled = !a.device_bound;
  }

  function showReissued(data) {
    var box = HP.clear(document.getElementById("reissue-result"));
    box.className = "result good";
    HP.append(box, el("h3", { text: "已为 " + data.name + " 重新发放激活码" }));
    HP.append(box, el("p", null, "新激活码：", el("b", { class: "code", id: "reissued-code", text: data.activation_code })));
    HP.append(box, el("p", { class: "note", text: "原密码和原激活码已失效。请把新激活码当面交给学员本人（只显示这一次）：学员在手机签到页面点“首次登录激活”，输入登录账号和新激活码，设置新密码，激活用的手机即绑定为签到手机。" }));
    HP.append(box, slipsButton([{ trainee_id: data.trainee_id, activation_code: data.activation_code }], box));
  }

  /* The 补打激活单 box: the trainees who have not activated yet, each ticked. */
  function renderSlipChoices(enrollments) {
    var set = document.getElementById("reissue-class-trainees");
    if (!set || !can.reissue_activation_codes) return;
    var waiting = enrollments.filter(function (e) { return e.account && !e.account.activated; });
    HP.clear(set);
    HP.append(set, el("legend", { text: "尚未激活的学员（" + waiting.length + " 人）" }));
    if (!waiting.length) { HP.append(set, el("p", { class: "muted", text: "本班学员都已激活。" })); return; }
    waiting.forEach(function (e) {
      HP.append(set, el("label", { class: "check" },
        el("input", { type: "checkbox", name: "trainee", value: String(e.trainee.id), checked: true }), " " + e.trainee.name));
    });
  }

  // --- wiring ----------------------------------------------------------------------------------------

  function refresh() {
    return loadClass().then(function (found) {
      if (found) renderClass();
      return found;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var lessonsForm = document.getElementById("lessons-form");
    var amendAdd = document.getElementById("amend-add-form");
    wireModeToggle(lessonsForm);
    wireModeToggle(amendAdd);

    wireQuizzes();
    document.getElementById("plan-check").addEventListener("click", planCheck);
    document.getElementById("plan-file").addEventListener("click", fileClass);

    HP.onSubmit(lessonsForm, function (form) {
      var missing = lessonFieldsMissing(form);
      if (missing) { HP.showError(form, missing); return; }
      var v = HP.values(form);
      var dates = seriesDates(v.date, v.repeat || 1, v.every || 1, v.skip_weekends);
      var lessons = dates.map(function (d) { return lessonBody(form, d); });
      renderLessonWarnings([]);
      return HP.api("POST", base + "/lessons", { lessons: lessons }).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.elements.date.value = HP.addDays(dates[dates.length - 1], v.every || 1);
        return refresh().then(function () { renderLessonWarnings(r.data.warnings); });
      });
    });

    HP.onSubmit(amendAdd, function (form) {
      var missing = lessonFieldsMissing(form);
      if (missing) { HP.showError(form, missing); return; }
      state.added.push(lessonBody(form, HP.values(form).date));
      renderAmendSummary();
    });

    HP.onSubmit(document.getElementById("amend-form"), function (form) {
      var body = { reason: HP.values(form).reason || "", add_lessons: state.added,
                   cancel_lesson_ids: Object.keys(state.cancel).map(Number) };
      return HP.api("POST", base + "/amendments", body).then(function (r) {
        if (!r.ok) {
          var box = HP.showError(form, r.data.error);
          if (box && r.data.error.check) HP.append(box, HP.violationsTable(r.data.error.check.violations));
          return;
        }
        state.added = [];
        state.cancel = {};
        form.reset();
        return refresh().then(function () {
          renderCheck(r.data.check, "计划变更已记录（变更编号 " + r.data.id + "）：变更后的计划符合规定", true);
          renderLessonWarnings(r.data.warnings);
        });
      });
    });

    HP.onSubmit(document.getElementById("enroll-form"), function (form) {
      HP.clear(document.getElementById("enroll-result")).className = "";
      var v = HP.values(form);
      if (v.resident_id) v.resident_id = v.resident_id.toUpperCase();
      return HP.api("POST", base + "/enrollments", v).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        showEnrolled(r.data);
        return loadEnrollments();
      });
    });

    HP.onSubmit(document.getElementById("import-form"), function (form) {
      HP.clear(document.getElementById("import-result")).className = "";
      var file = form.elements.file.files[0];
      if (!file) { HP.showError(form, { message: "请选择要导入的 .xlsx 或 .csv 文件", fields: [{ field: "file", type: "missing" }] }); return; }
      var data = new FormData();
      data.append("file", file, file.name);
      data.append("class_id", String(classId));
      return HP.api("POST", "/api/trainees/import", data).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        showImport(r.data);
        return loadEnrollments();
      });
    });

    // One signed paper form per purpose (POLICY §11): each recorded and withdrawn on its own.
    [["consent-form", "consent-withdraw", "biometric",
      "登记撤回后将立即删除该学员的人脸模板，学员将无法通过人脸核验签到。确定吗？"],
     ["photo-consent-form", "photo-consent-withdraw", "photo_keeping",
      "登记撤回后，该学员的签到照片将在复核期结束后删除（已过复核期的将在下次日常处理时删除）。确定吗？"]
    ].forEach(function (c) {
      var form = document.getElementById(c[0]);
      HP.onSubmit(form, function () {
        if (!form.elements.signed.checked) {
          HP.showError(form, { message: "请先确认学员已在纸质告知书上签字", fields: [{ field: "signed", message: "请勾选" }] });
          return;
        }
        return recordConsent(form, c[2], true);
      });
      document.getElementById(c[1]).addEventListener("click", function () {
        if (!window.confirm(c[3])) return;
        HP.clearError(form);
        recordConsent(form, c[2], false);
      });
    });

    HP.onSubmit(document.getElementById("face-form"), function (form) {
      var files = form.elements.photos.files;
      if (files.length < 1 || files.length > 5) {
        HP.showError(form, { message: "请选择 1–5 张照片（已选 " + files.length + " 张）", fields: [{ field: "photos", message: "1–5 张" }] });
        return;
      }
      // Three photos make the template; fewer send more of this trainee's check-ins to review.
      if (files.length < 3 && !window.confirm("建议当面拍摄 3 张照片，只上传 " + files.length + " 张会使该学员签到时更多转人工复核。仍要上传吗？")) return;
      var data = new FormData();
      Array.prototype.forEach.call(files, function (f) { data.append("photos", f, f.name); });
      var reason = form.elements.reason.value.trim();
      if (reason) data.append("reason", reason);
      return HP.api("POST", "/api/trainees/" + state.trainee.id + "/face", data).then(function (r) {
        if (!r.ok) {
          var error = r.data.error;
          if (error.reasons && error.reasons.length) {
            error = { message: "照片未通过质量检查，请按以下提示重新拍摄后上传：", reasons: error.reasons };
          }
          HP.showError(form, error);
          return;
        }
        form.reset();
        if (r.data.status === "held") {  // stored, waiting for 人社's review: the message says what it means now
          done(form, r.data.message + "（模板编号 " + r.data.template_id + "）");
          return loadEnrollments();
        }
        done(form, "人脸模板已建立（模板编号 " + r.data.template_id + "，照片 " + r.data.photos + " 张" +
                   (r.data.replaces_id ? "，替换模板 " + r.data.replaces_id : "") + "）。");
        return loadEnrollments();
      });
    });

    HP.onSubmit(document.getElementById("history-form"), function (form) {
      return HP.api("POST", historyUrl(), HP.values(form)).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        done(form, "已登记：" + r.data.occupation_code + " " + HP.label("level", r.data.level) + "，培训开始于 " +
                   r.data.training_start + "。");
        return loadHistory();
      });
    });

    HP.onSubmit(document.getElementById("history-check-form"), function (form) {
      return HP.api("POST", historyUrl() + "/checks", HP.values(form)).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        done(form, "已登记全面核对（核对日期 " + r.data.checked_on + "）。");
        return loadHistory();
      });
    });

    HP.onSubmit(document.getElementById("unbind-form"), function (form) {
      var reason = (form.elements.reason.value || "").trim();
      if (reason.length < 2) { HP.showError(form, { message: "请填写解除绑定的原因（学员登录时会看到）", fields: [{ field: "reason", message: "至少 2 个字" }] }); return; }
      if (!window.confirm("解除 " + state.trainee.name + " 的手机绑定？\n\n学员下次用原密码登录的手机将绑定为签到手机；登录时学员会看到培训机构解除绑定的时间和原因：" + reason)) return;
      return HP.api("POST", "/api/users/" + state.account.user_id + "/unbind-device", { reason: reason }).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        state.account = Object.assign({}, state.account, { device_bound: false, device_bound_at: null });
        renderAccount();
        done(form, "已解除手机绑定。请告诉学员：用原密码在新手机上登录即可。");
        return loadEnrollments();
      });
    });

    HP.onSubmit(document.getElementById("reissue-form"), function (form) {
      var reason = (form.elements.reason.value || "").trim();
      if (reason.length < 2) { HP.showError(form, { message: "请填写重置的原因", fields: [{ field: "reason", message: "至少 2 个字" }] }); return; }
      if (!window.confirm("重置 " + state.trainee.name + " 的密码并发放新激活码？\n\n原密码和原激活码立即失效，手机绑定解除，已登录的手机会退出。学员须用新激活码重新激活，激活用的手机即绑定为签到手机。")) return;
      return HP.api("POST", "/api/users/" + state.account.user_id + "/reissue-activation-code", { reason: reason }).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        state.account = Object.assign({}, state.account, { activated: false, device_bound: false, device_bound_at: null });
        renderAccount();
        showReissued(r.data);
        return loadEnrollments();
      });
    });

    HP.onSubmit(document.getElementById("reissue-class-form"), function (form) {
      var ids = Array.prototype.filter.call(form.querySelectorAll('input[name="trainee"]'), function (c) { return c.checked; })
        .map(function (c) { return Number(c.value); });
      var reason = (form.elements.reason.value || "").trim();
      var box = HP.clear(document.getElementById("reissue-class-result"));
      box.className = "";
      if (!ids.length) { HP.showError(form, { message: "请勾选要补打激活单的学员" }); return; }
      if (reason.length < 2) { HP.showError(form, { message: "请填写原因", fields: [{ field: "reason", message: "至少 2 个字" }] }); return; }
      if (!window.confirm("为 " + ids.length + " 名学员重新生成激活码并打印激活单？\n\n他们原来的激活码（包括已打印或已发出的激活单）将全部作废，只有新激活单上的激活码可以使用。")) return;
      return HP.api("POST", base + "/activation-codes", { reason: reason, trainee_ids: ids }).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        box.className = "result good";
        HP.append(box, el("h3", { text: "已重新发放 " + r.data.issued.length + " 名学员的激活码" }));
        if (r.data.skipped.length) {
          HP.append(box, el("p", { class: "note", text: "未重新发放：" + r.data.skipped.map(function (x) { return x.name + "（" + x.reason + "）"; }).join("、") }));
        }
        HP.append(box, el("p", { class: "note", text: "新激活码只显示这一次，请现在打印激活单（原激活码已作废）。" }));
        HP.append(box, el("table", { class: "data", id: "reissued-codes" },
          el("thead", null, el("tr", null, el("th", { text: "姓名" }), el("th", { text: "登录账号" }), el("th", { text: "激活码" }))),
          el("tbody", null, r.data.issued.map(function (i) {
            return el("tr", null, el("td", { text: i.name }), el("td", { class: "mono", text: i.username }),
                      el("td", { class: "code", text: i.activation_code }));
          }))));
        if (r.data.issued.length) {
          HP.append(box, slipsButton(r.data.issued.map(function (i) {
            return { trainee_id: i.trainee_id, activation_code: i.activation_code };
          }), box));
        }
        return loadEnrollments();
      });
    });

    document.getElementById("trainee-panel-close").addEventListener("click", function () {
      document.getElementById("trainee-panel").classList.add("hidden");
    });

    fillHistorySelects();

    refresh().then(function (found) {
      if (!found) return;
      return loadStaffLists().then(function () {
        renderLessons();
        var d = document.getElementById("lessons-form").elements.date;
        if (!d.value) d.value = state.cls.starts_on;
        var a = document.getElementById("amend-add-form").elements.date;
        if (!a.value) a.value = state.cls.starts_on;
        loadReviews();
        loadDuties();
        return loadEnrollments();
      });
    });
  });
})();
