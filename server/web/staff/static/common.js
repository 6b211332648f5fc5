/* Shared helpers for the staff pages: calling the JSON API with the session's CSRF token,
   showing its errors next to the form that caused them, building DOM safely (textContent only:
   names and IDs from the API are never parsed as HTML), and Beijing-time formatting. */
"use strict";

var HP = (function () {
  var LABELS = {
    level: { junior: "初级", mid: "中级", senior: "高级" },
    mode: { offline: "线下", online: "线上" },
    content: { theory: "理论", practice: "实操" },
    status: { draft: "草稿", filed: "已备案" },
    datum: { wgs84: "WGS-84", gcj02: "GCJ-02（高德/腾讯）", bd09: "BD-09（百度）" },
    funding: { subsidised: "补贴性培训", self_paid: "自费培训" },
    employment: { employed: "在职", not_employed: "未就业", unemployed: "未就业", unknown: "未知" },
    role: { admin: "系统管理员", institution_admin: "机构管理员", teacher: "教师",
            district_supervisor: "区县人社监管", city_reviewer: "市级复核", trainee: "学员", system: "系统" },
    sex: { male: "男", female: "女" },
  };

  //: Field names of the API, as the forms call them.
  var FIELD_NAMES = {
    name: "名称", address: "地址", area_m2: "面积", capacity: "容纳人数", datum: "坐标系", fence_kind: "围栏类型",
    centre_lat: "围栏中心纬度", centre_lon: "围栏中心经度", radius_m: "围栏半径", max_accuracy_m: "最大定位误差",
    polygon: "多边形围栏", institution_id: "培训机构", employer: "工作单位", title: "名称/职称", full_time: "专职",
    region_code: "地区", district_id: "区县编号", occupation_code: "职业（工种）", direction: "方向", level: "等级",
    starts_on: "开班日期", ends_on: "结业日期", funding: "培训类型", fee: "培训费", lessons: "课次",
    starts_at: "开始时间", ends_at: "结束时间", mode: "形式", content: "内容", venue_id: "场地", teacher_id: "教师",
    reason: "原因", add_lessons: "新增课次", cancel_lesson_ids: "取消的课次", resident_id: "身份证号",
    phone: "手机号", subsidy_category: "补贴类别", employment_at_start: "培训前就业状态", username: "用户名",
    password: "密码", file: "文件", class_id: "班级编号", photos: "照片", channel: "方式", text_version: "告知书版本",
    training_start: "培训开始日期", kind: "补贴类型", source: "来源", note: "备注", checked_on: "核对日期",
    checkpoints: "测验点", questions: "题目", text: "题干", options: "选项", answer: "正确答案", position_s: "位置",
  };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = String(v);
        else if (k === "class") node.className = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else if (k in node && typeof v !== "string") node[k] = v;
        else node.setAttribute(k, v === true ? "" : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  /* append(node, child, child, ...): nodes, strings (as text) or arrays of either. */
  function append(node) {
    for (var i = 1; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) child.forEach(function (c) { append(node, c); });
      else node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  function label(kind, value) {
    var m = LABELS[kind] || {};
    return value in m ? m[value] : (value === null || value === undefined ? "—" : String(value));
  }

  function pageData() {
    var node = document.getElementById("page-data");
    return node ? JSON.parse(node.textContent) : {};
  }

  /* A clause as a person reads it: "POLICY §3" -> "线上学时计入不超过规定学时的50%（政策摘要第3条）",
     from the words the page carries (#clause-words, policies/clauses.py); a regional clause
     ("js 2.2") is shown as it is. The API keeps the clause itself. */
  var clauseWords = null;
  function clauseText(clause) {
    if (!clause) return "";
    if (clauseWords === null) {
      var node = document.getElementById("clause-words");
      try { clauseWords = node ? JSON.parse(node.textContent) : {}; } catch (e) { clauseWords = {}; }
    }
    return String(clause).replace(/POLICY §(\d+)/g, function (m, n) { return clauseWords[m] || "政策摘要第" + n + "条"; });
  }

  // --- the API ------------------------------------------------------------------------------

  var csrfToken = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function csrf() {
    if (csrfToken) return Promise.resolve(csrfToken);
    return fetch("/api/auth/me", { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (d) { csrfToken = d.csrf_token || ""; return csrfToken; });
  }

  function toLogin() {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  /* api("POST", "/api/venues", {json}) or api("POST", url, formData): resolves to
     {ok, status, data} (data is the JSON answer; on failure data.error is the API's error). */
  function api(method, url, body, options) {
    options = options || {};
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    var ready = Promise.resolve();
    if (method !== "GET") {
      ready = (options.noCsrf ? Promise.resolve("") : csrf()).then(function (token) {
        if (token) init.headers["X-CSRF-Token"] = token;
      });
      if (body instanceof FormData) init.body = body;  // the browser sets the multipart boundary
      else if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
    }
    return ready.then(function () { return fetch(url, init); }).then(function (resp) {
      return resp.text().then(function (text) {
        var data;
        try { data = text ? JSON.parse(text) : {}; } catch (e) {
          data = { error: { code: "bad_response", message: "服务器返回了无法识别的内容（HTTP " + resp.status + "），请稍后重试" } };
        }
        if (resp.status === 401 && !options.noRedirect) toLogin();
        if (!resp.ok && !(data && data.error)) {
          data = { error: { code: "http_" + resp.status, message: "请求失败（HTTP " + resp.status + "）" } };
        }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () {
      return { ok: false, status: 0, data: { error: { code: "network", message: "网络连接失败，未能送达服务器，请检查网络后重试" } } };
    });
  }

  // --- errors next to their form --------------------------------------------------------------

  function fieldName(path) {
    var parts = String(path).split(".");
    var out = [];
    for (var i = 0; i < parts.length; i++) {
      var p = parts[i];
      if (/^\d+$/.test(p)) out.push("第 " + (Number(p) + 1) + " 项");
      else if (p !== "(body)") out.push(FIELD_NAMES[p] || p);
    }
    return out.join(" · ");
  }

  //: The server words every field's message in Chinese (server/api/framework.py, field_message).
  function fieldMessage(f) { return String(f.message || "格式不正确"); }

  function errorBox(container) {
    if (!container) return null;
    if (container.classList && container.classList.contains("form-error")) return container;
    return container.querySelector(".form-error");
  }

  function clearError(container) {
    var box = errorBox(container);
    if (box) clear(box).classList.remove("shown");
    if (container && container.querySelectorAll) {
      container.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
    }
  }

  /* Show error.message and every error.fields entry in the form's .form-error box, and mark the
     inputs named by the fields. Returns the box (callers may add more, e.g. violations). */
  function showError(container, error) {
    clearError(container);
    var box = errorBox(container);
    error = error || {};
    if (!box) { window.alert(error.message || "操作失败"); return null; }
    box.classList.add("shown");
    box.setAttribute("role", "alert");
    var fields = error.fields || [];
    var message = error.message || "操作失败";
    // The API's validation message lists raw field paths ("输入有误：lessons.0"); the list below
    // names them in Chinese, so the heading need not.
    if (error.code === "invalid_input" && fields.length && /^输入有误：/.test(message)) message = "输入有误，请修改以下各项：";
    append(box, el("p", { class: "msg", text: message }));
    if (fields.length) {
      append(box, el("ul", null, fields.map(function (f) {
        var name = fieldName(f.field);
        return el("li", null, name ? el("b", { text: name + "：" }) : null, fieldMessage(f));
      })));
      fields.forEach(function (f) {
        var last = String(f.field).split(".").pop();
        var input = container.querySelector && container.querySelector('[name="' + last + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
      });
    }
    if (error.reasons && error.reasons.length) {
      append(box, el("ul", null, error.reasons.map(function (r) { return el("li", { text: r.message }); })));
    }
    return box;
  }

  function violationsTable(violations) {
    return el("table", { class: "data violations" },
      el("thead", null, el("tr", null, el("th", { text: "问题" }), el("th", { text: "依据条款" }))),
      el("tbody", null, violations.map(function (v) {
        return el("tr", null, el("td", { text: v.detail }), el("td", null, el("span", { class: "clause", text: clauseText(v.clause) })));
      })));
  }

  // --- forms and tables -----------------------------------------------------------------------

  /* The form's values by name, empty strings dropped, numbers as numbers where the input says so. */
  function values(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || input.disabled || input.type === "file" || input.type === "submit") return;
      if (input.type === "checkbox") { out[input.name] = input.checked; return; }
      var v = input.value.trim();
      if (v === "") return;
      out[input.name] = input.type === "number" ? Number(v) : v;
    });
    return out;
  }

  function fillRows(tbody, rows, columns, emptyText) {
    clear(tbody);
    if (!rows.length) {
      append(tbody, el("tr", null, el("td", { colspan: columns, class: "muted", text: emptyText || "暂无" })));
    } else rows.forEach(function (r) { append(tbody, r); });
  }

  function busy(button, on) {
    if (!button) return;
    button.disabled = on;
    button.classList.toggle("busy", on);
  }

  /* Submit handler wrapper: clears old errors, disables the button while the request runs. */
  function onSubmit(form, handler) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearError(form);
      var button = form.querySelector('button[type="submit"]');
      busy(button, true);
      Promise.resolve().then(function () { return handler(form); })
        .catch(function (e) { showError(form, { message: "页面出错：" + e.message }); })
        .then(function () { busy(button, false); });
    });
  }

  // --- time: stored UTC, shown in Beijing time (UTC+8 all year: China has no daylight saving) ---

  var WEEKDAYS = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function beijing(iso) {
    if (!iso) return null;
    var d = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
    return {
      date: d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()),
      time: pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()),
      weekday: WEEKDAYS[d.getUTCDay()],
    };
  }

  function beijingText(iso) {
    var b = beijing(iso);
    return b ? b.date + " " + b.time : "—";
  }

  /* "2026-03-02" + "09:00" (Beijing) -> "2026-03-02T09:00:00+08:00" as the API wants. */
  function beijingIso(date, time) { return date + "T" + time + ":00+08:00"; }

  function addDays(date, n) {
    var d = new Date(date + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }

  // --- tables as cards at a phone's width ----------------------------------------------------

  /* Every body cell of a data table carries its column's heading (data-label), for the tables
     staff.css turns into cards at a phone's width (each value under its heading). The heading is
     read from the table itself, so a column added later is labelled with no second list to keep
     in step; a cell spanning every column (an empty list's note) gets none. */
  function labelCells() {
    Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (table) {
      var head = table.tHead && table.tHead.rows[0], heads = [];
      if (!head) return;
      Array.prototype.forEach.call(head.cells, function (th) {
        var words = th.firstChild && th.firstChild.nodeType === 3 ? th.firstChild.nodeValue.trim() : th.textContent.trim();
        for (var i = 0; i < th.colSpan; i++) heads.push(words);
      });
      Array.prototype.forEach.call(table.tBodies, function (tbody) {
        Array.prototype.forEach.call(tbody.rows, function (tr) {
          var col = 0;
          Array.prototype.forEach.call(tr.cells, function (td) {
            if (heads[col] && td.colSpan < heads.length && td.getAttribute("data-label") !== heads[col]) td.setAttribute("data-label", heads[col]);
            col += td.colSpan;
          });
        });
      });
    });
  }

  var labelling = false;
  new MutationObserver(function () {
    if (labelling) return;
    labelling = true;
    window.requestAnimationFrame(function () { labelling = false; labelCells(); });
  }).observe(document.body, { childList: true, subtree: true });

  // --- the header's log-out button ------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    var out = document.getElementById("logout");
    if (out) out.addEventListener("click", function () {
      api("POST", "/api/auth/logout", undefined, { noRedirect: true }).then(function () {
        window.location.href = "/login";
      });
    });
  });

  return {
    el: el, append: append, clear: clear, label: label, pageData: pageData, api: api, showError: showError,
    clearError: clearError, violationsTable: violationsTable, values: values, fillRows: fillRows, busy: busy,
    onSubmit: onSubmit, beijing: beijing, beijingText: beijingText, beijingIso: beijingIso, addDays: addDays,
    fieldName: fieldName, clauseText: clauseText,
  };
})();
