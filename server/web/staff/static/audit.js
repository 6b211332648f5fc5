/* /manage/audit: the append-only audit trail, newest first. */
"use strict";

(function () {
  var el = HP.el;
  //: Every action the server records (grep audit.record in server/), as people say it.
  var ACTIONS = {
    "institution.create": "登记培训机构", "venue.create": "添加培训场地", "venue.change_fence": "修改场地围栏",
    "venue.fence_approve": "通过场地围栏", "venue.fence_reject": "退回场地围栏", "teacher.create": "添加教师",
    "class.create": "新建培训班", "lesson.add": "添加课次", "lesson.remove": "删除草稿课次", "class.file": "计划备案",
    "class.file_refused": "计划备案被拒", "class.amend": "计划变更", "class.seal": "封存学时（补贴申报）",
    "class.checkpoint_quizzes": "设置课程测验", "lesson_quiz.save": "保存课程测验", "lesson_media.upload": "上传录播视频",
    "lesson_media.link": "关联直播或视频地址", "enrollment.create": "学员报名", "trainee.import": "批量导入学员",
    "consent.grant": "登记人脸核验同意", "consent.withdraw": "登记撤回人脸核验同意",
    "consent.photo_keeping.grant": "登记留存签到照片同意", "consent.photo_keeping.withdraw": "登记撤回留存签到照片同意",
    "face.enroll": "采集人脸", "face.reenroll": "重新采集人脸", "face.erase": "删除人脸模板", "face.held": "人脸登记待复核",
    "face.hold_approve": "通过待复核的人脸登记", "face.hold_reject": "退回待复核的人脸登记",
    "user.create": "创建账号", "user.activate": "学员激活账号", "user.reissue_code": "重新发放激活码",
    "class.reissue_codes": "批量重新发放激活码", "class.print_slips": "打印激活单",
    "device.bind": "绑定手机", "device.unbind": "解除手机绑定",
    "event.review_approved": "复核通过", "event.review_rejected": "复核不通过", "spot_check.issue": "发起随机抽查",
    "group_photo.upload": "上传合影", "assessment.record": "登记考核结果", "certificate.record": "登记培训合格证书",
    "export.request": "导出", "duty.done": "标记待办已完成", "duty.application_received": "登记补贴申请已受理",
    "subsidy_history.record": "登记补贴记录", "subsidy_history.retract": "撤回补贴记录",
    "subsidy_history.check": "登记已核对补贴记录", "evidence.view_frame": "查看核验照片",
    "evidence.view_enrolment_photo": "查看人脸登记照片", "evidence.purge": "按保存期限删除证据",
    "evidence.expire": "复核期满删除签到照片（未同意留存）",
  };
  var ENTITIES = {
    institution: "培训机构", venue: "培训场地", teacher: "教师", training_class: "培训班", enrollment: "报名",
    trainee: "学员", import: "导入", user: "账号", lesson: "课次", event: "核验记录", face_template: "人脸模板",
    export_job: "导出任务", duty: "待办", consent: "同意记录",
  };
  //: Field names in the before/after records, as people say them (others show as they are).
  var KEYS = {
    status: "状态", reason: "原因", name: "名称", username: "用户名", role: "角色", class_id: "班级编号",
    trainee_id: "学员编号", lesson_id: "课次编号", institution_id: "机构编号", district_id: "区县编号", kind: "类型",
    file: "文件", rows: "行数", imported: "成功导入", resident_id: "身份证号", device_bound_at: "绑定手机时间",
    activated: "已激活", decision: "决定", verdict: "核验结果", filed_at: "备案时间", note: "备注", present: "合影中的学员",
    faces: "人脸数", sha256: "文件指纹", count: "数量", trainees: "学员", skipped: "跳过", at: "时间",
  };

  function value(v) {
    if (v === null || v === undefined) return "—";
    if (v === true) return "是";
    if (v === false) return "否";
    if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) return HP.beijingText(v);
    return typeof v === "object" ? JSON.stringify(v) : String(v);
  }

  function lines(record) {
    if (!record || typeof record !== "object") return [el("div", { text: value(record) })];
    return Object.keys(record).map(function (k) {
      return el("div", null, el("span", { class: "muted", text: (KEYS[k] || k) + "：" }), value(record[k]));
    });
  }

  function detail(before, after) {
    if (!before && !after) return "—";
    var parts = [];
    if (before) parts.push(el("div", null, el("b", { text: "改动前" }), lines(before)));
    if (after) parts.push(el("div", null, before ? el("b", { text: "改动后" }) : null, lines(after)));
    var count = Object.keys(after || before || {}).length;
    if (!before && count <= 3) return parts;
    return el("details", null, el("summary", { text: "查看详情（" + count + " 项）" }), parts);
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
