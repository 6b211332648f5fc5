/* Log-in page: POST /api/auth/login, then on to the page the user came for. */
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("login-form");
  HP.onSubmit(form, function () {
    var v = HP.values(form);
    if (!v.username || !v.password) {
      HP.showError(form, { message: "请输入用户名和密码" });
      return;
    }
    return HP.api("POST", "/api/auth/login", { username: v.username, password: form.elements.password.value },
                  { noCsrf: true, noRedirect: true }).then(function (r) {
      if (!r.ok) {
        HP.showError(form, r.data.error);
        form.elements.password.value = "";
        form.elements.password.focus();
        return;
      }
      var role = r.data.user.role;
      var next = form.getAttribute("data-next") || "/manage";
      if (role === "trainee") {
        HP.showError(form, { message: "学员请在手机上打开签到页面（/m/）登录" });
        return HP.api("POST", "/api/auth/logout", undefined, { noRedirect: true }).then(function () {});
      }
      // Supervisors, reviewers and teachers watch the live dashboard; the management pages
      // are for the roles the server names (server/permissions.py, use_manage_pages).
      var manages = (form.getAttribute("data-manage-roles") || "").split(" ");
      // 人社 who asked for a class list or class page by its address (view_class_history) go there.
      var history = (form.getAttribute("data-history-roles") || "").split(" ");
      var asked = form.hasAttribute("data-explicit-next") && next.indexOf("/manage/audit") !== 0;
      if (manages.indexOf(role) < 0 && next.indexOf("/live") !== 0 && !(asked && history.indexOf(role) >= 0)) next = "/live";
      window.location.href = next;
    });
  });
});
