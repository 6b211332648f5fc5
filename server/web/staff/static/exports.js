/* The class page's exports: start a background export, show its progress, offer the download.
   The server does the work (a job with a progress figure); this only polls it. */
"use strict";

(function () {
  var box = document.getElementById("exports-box");
  if (!box) return;
  var classId = HP.pageData().class_id;
  var status = document.getElementById("export-status");
  var errorBox = document.getElementById("export-error");
  var NAMES = { "class": "考勤表与学时明细", subsidy: "补贴申报导出", js_filing: "江苏备案材料包", certificates: "培训合格证书" };

  function show(job) {
    HP.clear(status);
    var pct = Math.round((job.progress || 0) * 100);
    if (job.status === "done" && job.file_expired) {
      // The bundle was kept for a while after it finished and then deleted (it can be exported again).
      HP.append(status, [NAMES[job.kind] + "：" + job.file_message]);
    } else if (job.status === "done") {
      HP.append(status, [NAMES[job.kind] + "：已完成（SHA-256 " + job.sha256.slice(0, 16) + "…） ",
        HP.el("a", { href: job.download, text: "下载签名证据包" })]);
    } else if (job.status === "failed") {
      HP.append(status, [NAMES[job.kind] + "：失败：" + (job.error || "")]);
    } else {
      HP.append(status, [NAMES[job.kind] + "：进行中 " + pct + "%（" + job.done + "/" + (job.total || "?") + " 名学员）"]);
    }
  }

  function poll(job) {
    show(job);
    if (job.status === "done" || job.status === "failed") return;
    setTimeout(function () {
      HP.api("GET", "/api/export-jobs/" + job.id).then(function (r) {
        if (r.ok) poll(r.data); else HP.showError(errorBox, r.data);
      });
    }, 1000);
  }

  box.querySelectorAll("button[data-export]").forEach(function (button) {
    button.addEventListener("click", function () {
      var kind = button.getAttribute("data-export");
      if (kind === "subsidy" && !window.confirm("补贴申报导出将封存本班当前学时，之后的更正将作为修正记录列出。继续？")) return;
      HP.clear(errorBox);
      HP.api("POST", "/api/classes/" + classId + "/exports", { kind: kind }).then(function (r) {
        if (r.ok) poll(r.data); else HP.showError(errorBox, r.data);
      });
    });
  });
})();
