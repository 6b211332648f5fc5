/* /manage, for the deployment's admin: 个人信息保护（人脸信息）. The people whose face data the
   deployment holds, the cyberspace-office filing once they pass the threshold (recorded with its
   receipt number), keeping periods per region with their clauses, a warning when the key that
   seals face data sits in the data dir, and the impact-assessment draft (GET /api/privacy). */
"use strict";

(function () {
  var el = HP.el;
  var box = document.getElementById("privacy-box");
  if (!box) return;
  var summary = document.getElementById("privacy-summary");
  var warning = document.getElementById("privacy-warning");
  var form = document.getElementById("privacy-filing-form");
  var errorBox = document.getElementById("privacy-error");
  var ATTESTED = { after_district_review: "经区县人社逐条复核通过后计入", on_teacher_attestation: "教师现场确认且无异常即计入" };

  function cited(text, clause) {
    return [text, " ", el("span", { class: "clause", text: HP.clauseText(clause) })];
  }

  function show(d) {
    var f = d.filing;
    var parts = ["目前处理人脸信息的人数：" + d.people_with_face_data.toLocaleString("zh-CN") + " 人；" +
                 d.consents.face_consent_in_force + " 人同意人脸核验，" + d.consents.face_refused_or_withdrawn +
                 " 人拒绝或撤回（改由教师确认签到），" + d.consents.photo_keeping_in_force + " 人同意留存签到照片。"];
    if (!f) {
      parts.push("未达 " + d.filing_threshold.toLocaleString("zh-CN") + " 人，暂无须向省级网信部门备案。");
    } else if (f.status === "done") {
      parts.push("网信部门备案已于 " + HP.beijingText(f.done_at) + " 由 " + f.done_by + " 登记办结（备案编号 " + f.receipt + "）。");
    } else {
      parts.push(el("span", { class: "badge " + f.status, text: f.status === "overdue" ? "已逾期" : "待办" }), " ", f.detail, "。");
    }
    HP.append(HP.clear(summary), parts);
    form.classList.toggle("hidden", !f || f.status === "done");
    warning.textContent = d.sealing.warning || "";
    var body = HP.clear(document.querySelector("#privacy-keeping tbody"));
    HP.append(body, d.keeping.map(function (r) {
      return el("tr", null,
        el("td", { text: r.name }),
        el("td", null, cited("培训结束后 " + r.evidence_years + " 年", r.evidence_clause)),
        el("td", null, cited("课程结束或复核决定后 " + r.photo_window_days + " 天删除", r.photo_window_clause)),
        el("td", null, cited(ATTESTED[r.attested_check_ins] || r.attested_check_ins, r.attested_clause)));
    }));
  }

  function load() {
    return HP.api("GET", "/api/privacy").then(function (r) {
      if (!r.ok) { HP.showError(errorBox, r.data.error); return; }
      show(r.data);
    });
  }

  HP.onSubmit(form, function () {
    var receipt = form.elements.receipt.value.trim();
    // Recorded for good (who, when, the number): the filing is evidence the duty was met.
    if (!window.confirm("确认已向省级网信部门备案（备案编号 " + receipt + "）？\n\n登记后记录操作人和时间，不能撤销。")) return null;
    return HP.api("POST", "/api/privacy/filing-done", { receipt: receipt }).then(function (r) {
      if (!r.ok) { HP.showError(form, r.data.error); return; }
      show(r.data);
    });
  });

  load();
})();
