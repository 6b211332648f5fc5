/* Exports: start a background export (a class's on its page; a district roll-up on /manage),
   show its progress, offer the download. The server does the work (a job with a progress
   figure); this only polls it. */
"use strict";

(function () {
  var NAMES = { "class": "考勤表与学时明细", subsidy: "补贴申报导出", js_filing: "江苏备案材料包", certificates: "培训合格证书",
                district: "区县汇总" };

  function show(status, job) {
    HP.clear(status);
    var pct = Math.round((job.progress || 0) * 100);
    var name = NAMES[job.kind] || "导出";
    if (job.status === "done" && job.file_expired) {
      // The bundle was kept for a while after it finished and then deleted (it can be exported again).
      HP.append(status, [name + "：" + job.file_message]);
    } else if (job.status === "done") {
      HP.append(status, [name + "：已完成（SHA-256 " + job.sha256.slice(0, 16) + "…） ",
        HP.el("a", { href: job.download, text: "下载签名证据包" })]);
    } else if (job.status === "failed") {
      HP.append(status, [name + "：失败：" + (job.error || "")]);
    } else {
      HP.append(status, [name + "：进行中 " + pct + "%（" + job.done + "/" + (job.total || "?") + " 名学员）"]);
    }
  }

  function poll(job, status, errorBox) {
    show(status, job);
    if (job.status === "done" || job.status === "failed") return;
    setTimeout(function () {
      HP.api("GET", "/api/export-jobs/" + job.id).then(function (r) {
        if (r.ok) poll(r.data, status, errorBox); else HP.showError(errorBox, r.data);
      });
    }, 1000);
  }

  function start(url, body, status, errorBox) {
    HP.clear(errorBox);
    return HP.api("POST", url, body).then(function (r) {
      if (r.ok) poll(r.data, status, errorBox); else HP.showError(errorBox, r.data);
    });
  }

  var box = document.getElementById("exports-box");
  if (box) {
    var classId = HP.pageData().class_id;
    var status = document.getElementById("export-status");
    var errorBox = document.getElementById("export-error");
    box.querySelectorAll("button[data-export]").forEach(function (button) {
      button.addEventListener("click", function () {
        var kind = button.getAttribute("data-export");
        if (kind === "subsidy" && !window.confirm("补贴申报导出将封存本班当前学时，之后的更正将作为修正记录列出。继续？")) return;
        start("/api/classes/" + classId + "/exports", { kind: kind }, status, errorBox);
      });
    });
  }

  /* The district roll-up (supervisors, reviewers): the districts offered are the supervisor's own,
     or those of the classes a reviewer sees; the server decides what may be exported. */
  var districtButton = document.getElementById("district-export");
  if (districtButton) {
    var select = document.getElementById("district-export-select");
    var page = HP.pageData();
    Promise.all([HP.api("GET", "/api/districts"), HP.api("GET", "/api/classes")]).then(function (rs) {
      var names = {};
      if (rs[0].ok) rs[0].data.forEach(function (d) { names[d.id] = d.city + " " + d.name; });
      var ids = page.district_id ? [page.district_id] : [];
      if (!ids.length && rs[1].ok) {
        rs[1].data.forEach(function (c) { if (ids.indexOf(c.district_id) < 0) ids.push(c.district_id); });
      }
      HP.clear(select);
      ids.forEach(function (id) { select.appendChild(HP.el("option", { value: String(id), text: names[id] || "区县 " + id })); });
      districtButton.disabled = !ids.length;
    });
    districtButton.addEventListener("click", function () {
      if (!select.value) return;
      start("/api/districts/" + select.value + "/exports", undefined, document.getElementById("district-export-status"),
            document.getElementById("district-export-error"));
    });
  }
})();
