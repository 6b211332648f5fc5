/* /manage: the 待办事项 panel. Open filing duties (due and overdue) in the user's scope, from
   GET /api/duties, each with its due date, the rule's sentence and clause; "标记已完成" records
   who and when (POST /api/duties/<id>/done). Self-contained: uses only HP from common.js. */
"use strict";

(function () {
  var el = HP.el;
  var table = document.getElementById("duties-table");
  var errorBox = document.getElementById("duties-error");
  if (!table) return;

  function when(d) {
    if (d.status === "overdue") return "已逾期 " + (-d.days_left) + " 天";
    if (d.days_left === 0) return "今天到期";
    return "还剩 " + d.days_left + " 天";
  }

  function row(d) {
    // A review deadline (counted from the accepted application) is 人社's to close, not the institution's.
    var button = !d.can_mark_done ? el("small", { class: "muted", text: "由人社部门办结" }) :
      el("button", { type: "button", text: "标记已完成", onclick: function () {
      // Recorded for good (who, when): a slip of the finger must not close a filing duty.
      if (!window.confirm("确认“" + d.detail + "”已办结（截止 " + d.due_on + "）？\n\n标记后记录操作人和时间，不能撤销。")) return;
      button.disabled = true;
      HP.api("POST", "/api/duties/" + d.id + "/done", { note: "" }).then(function (r) {
        if (!r.ok) { button.disabled = false; HP.showError(errorBox, r.data.error); return; }
        load();
      });
    } });
    return el("tr", { "data-duty": String(d.id) },
      el("td", { class: "nowrap" }, el("span", { class: "badge " + d.status, text: d.status_zh })),
      el("td", { class: "nowrap" }, d.due_on, el("br"), el("small", { text: when(d) }),
         d.provisional ? [el("br"), el("small", { text: "（暂按周一至周五计算）" })] : null),
      el("td", null, el("a", { href: "/manage/classes/" + d.class_id, text: d.class_name })),
      el("td", { text: d.detail }),
      el("td", null, el("span", { class: "clause", text: HP.clauseText(d.clause) })),
      el("td", null, button));
  }

  // The deployment's own duty (POLICY §12: filing with the provincial cyberspace office once it
  // holds face data of 100,000 people) belongs to no class; it is recorded in the 个人信息保护 card.
  var pageData = JSON.parse((document.getElementById("page-data") || {}).textContent || "{}");
  var protects = !!(pageData.can && pageData.can.protect_face_data);

  function filingRow(f) {
    return el("tr", { "data-duty": "privacy-filing" },
      el("td", { class: "nowrap" }, el("span", { class: "badge " + f.status, text: f.status === "overdue" ? "已逾期" : "待办" })),
      el("td", { class: "nowrap" }, f.due_on, f.provisional ? [el("br"), el("small", { text: "（暂按周一至周五计算）" })] : null),
      el("td", { text: "（本系统）" }),
      el("td", { text: f.detail }),
      el("td", null, el("span", { class: "clause", text: HP.clauseText(f.clause) })),
      el("td", null, el("a", { href: "#privacy-box", text: "登记备案编号" })));
  }

  function load() {
    var filing = protects ? HP.api("GET", "/api/privacy").then(function (r) {
      return r.ok && r.data.filing && r.data.filing.status !== "done" ? r.data.filing : null;
    }) : Promise.resolve(null);
    return Promise.all([HP.api("GET", "/api/duties?status=open"), filing]).then(function (both) {
      var r = both[0];
      var body = HP.clear(table.querySelector("tbody"));
      if (!r.ok) { HP.showError(errorBox, r.data.error); return; }
      var rows = (both[1] ? [filingRow(both[1])] : []).concat(r.data.map(row));
      if (!rows.length) {
        HP.append(body, el("tr", null, el("td", { colspan: "6", class: "muted", text: "暂无到期或逾期的事项" })));
        return;
      }
      HP.append(body, rows);
    });
  }

  load();
})();
