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
      if (role !== "admin" && role !== "institution_admin") {
        HP.showError(form, { message: "该账号（" + HP.label("role", role) + "）不能使用机构管理页面，请使用机构管理员账号登录" });
        return HP.api("POST", "/api/auth/logout", undefined, { noRedirect: true }).then(function () {});
      }
      window.location.href = form.getAttribute("data-next") || "/manage";
    });
  });
});
