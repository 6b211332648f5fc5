/* /manage/audit: the append-only audit trail, newest first. */
"use strict";

(function () {
  var el = HP.el;
  var ACTIONS = {
    "institution.create": "登记培训机构", "venue.create": "添加培训场地", "teacher.create": "添加教师",
    "class.create": "新建培训班", "lesson.add": "添加课次", "class.file": "计划备案",
    "class.file_refused": "计划备案被拒", "class.amend": "计划变更", "enrollment.create": "学员报名",
    "trainee.import": "批量导入学员", "consent.grant": "登记人脸信息处理同意", "consent.withdraw": "登记撤回同意",
    "face.enroll": "采集人脸", "face.reenroll": "重新采集人脸", "face.erase": "删除人脸模板",
    "user.create": "创建账号", "user.activate": "学员激活账号", "device.bind": "绑定手机", "device.unbind": "解绑手机",
  };
  var ENTITIES = {
    institution: "培训机构", venue: "培训场地", teacher: "教师", training_class: "培训班", enrollment: "报名",
    trainee: "学员", import: "导入", user: "账号",
  };

  function detail(before, after) {
    if (!before && !after) return "—";
    var parts = [];
    if (before) parts.push(el("div", null, el("b", { text: "改动前 " }), el("code", { text: JSON.stringify(before) })));
    if (after) parts.push(el("div", null, el("b", { text: before ? "改动后 " : "" }), el("code", { text: JSON.stringify(after) })));
    var text = JSON.stringify(after || before);
    if (text.length < 120 && !before) return el("code", { text: text });
    return el("details", null, el("summary", { text: "查看（" + text.length + " 字符）" }), parts);
  }

  function load() {
    var form = document.getElementById("audit-filter");
    var limit = form.elements.limit.value;
    return HP.api("GET", "/api/audit?limit=" + encodeURIComponent(limit)).then(function (r) {
      var errorBox = document.getElementById("audit-error");
      if (!r.ok) { HP.showError(errorBox, r.data.error); return; }
      HP.clearError(errorBox);
      HP.fillRows(document.querySelector("#audit-table tbody"), r.data.map(function (e) {
        var entity = (ENTITIES[e.entity] || e.entity) + (e.entity_id ? " " + e.entity_id : "");
        return el("tr", null, el("td", { class: "nowrap", text: HP.beijingText(e.at) }), el("td", { text: e.actor }),
          el("td", { text: HP.label("role", e.role) }),
          el("td", { title: e.action, text: ACTIONS[e.action] || e.action }),
          el("td", null, e.entity === "training_class" && e.entity_id
            ? el("a", { href: "/manage/classes/" + e.entity_id, text: entity }) : entity),
          el("td", { class: "detail" }, detail(e.before, e.after)));
      }), 6, "暂无记录");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    HP.onSubmit(document.getElementById("audit-filter"), load);
    load();
  });
})();
