/* /manage: the institution's classes, venues and teachers, with forms to add each. An admin
   picks the institution first; an institution admin always works on their own. 人社 (supervisors,
   reviewers) get the same class list read-only, over every class in their scope, and no forms:
   the page shows only what page.can (the role's capabilities) allows. */
"use strict";

(function () {
  var el = HP.el;
  var page = HP.pageData();
  var occupations = {};
  page.occupations.forEach(function (o) { occupations[o.code] = o; });
  var institutions = [];
  var current = null; // the institution being managed
  var can = page.can || {};
  var manages = !!can.use_manage_pages;
  var institutionNames = {};
  var classes = [];
  var filter = "all";
  /* The states the list is grouped by; a class may be in several (filed and finished). */
  var STATES = [
    ["all", "全部", function () { return true; }],
    ["in_session", "上课中", function (c) { return c.in_session; }],
    ["upcoming", "未开始", function (c) { return c.timing === "upcoming"; }],
    ["finished", "已结束", function (c) { return c.timing === "finished"; }],
    ["filed", "已备案", function (c) { return c.status === "filed"; }],
    ["sealed", "已封存", function (c) { return !!c.sealed_at; }],
  ];
  var TIMING = { upcoming: "未开始", ongoing: "培训期间", finished: "已结束" };

  function pageError(error) { HP.showError(document.getElementById("page-error"), error); }

  function loadInstitutions() {
    return HP.api("GET", "/api/institutions").then(function (r) {
      if (!r.ok) { pageError(r.data.error); return; }
      institutions = r.data;
      var select = document.getElementById("institution-select");
      HP.clear(select);
      institutions.forEach(function (i) { select.appendChild(el("option", { value: String(i.id), text: i.name })); });
      document.getElementById("institution-choice").classList.toggle("hidden", institutions.length < 2);
      var mine = institutions.filter(function (i) { return i.id === page.institution_id; })[0];
      choose(mine || institutions[0] || null);
    });
  }

  var districts = [];

  /* The district select shows the chosen region's districts ("重庆市 渝北区"). */
  function fillDistricts(selected) {
    var form = document.getElementById("class-form");
    var region = form.elements.region_code.value;
    var select = HP.clear(form.elements.district_id);
    districts.filter(function (d) { return d.region_code === region; }).forEach(function (d) {
      HP.append(select, el("option", { value: String(d.id), text: d.city + " " + d.name + "（" + d.adcode + "）" }));
    });
    if (selected) select.value = String(selected);
  }

  function loadDistricts() {
    return HP.api("GET", "/api/districts").then(function (r) {
      districts = r.ok ? r.data : [];
      fillDistricts(current && current.district_id);
    });
  }

  function choose(inst) {
    current = inst;
    var summary = HP.clear(document.getElementById("institution-summary"));
    if (!inst) {
      summary.textContent = "没有可管理的培训机构。系统管理员请先通过接口登记培训机构。";
      return;
    }
    document.getElementById("institution-select").value = String(inst.id);
    HP.append(summary, el("b", { text: inst.name }), "　统一社会信用代码 " + inst.uscc + "　地址 " + inst.address +
              "　地区 " + inst.region_code + "　区县编号 " + inst.district_id);
    var form = document.getElementById("class-form");
    form.elements.region_code.value = inst.region_code;
    fillDistricts(inst.district_id);
    loadVenues();
    loadTeachers();
    loadClasses();
  }

  function loadClasses() {
    return HP.api("GET", "/api/classes").then(function (r) {
      if (!r.ok) { pageError(r.data.error); return; }
      classes = r.data.filter(function (c) { return !current || c.institution_id === current.id; });
      renderFilters();
      renderClasses();
    });
  }

  function renderFilters() {
    var box = HP.clear(document.getElementById("class-filters"));
    STATES.forEach(function (s) {
      var n = classes.filter(s[2]).length;
      HP.append(box, el("button", { type: "button", "data-state": s[0], "aria-pressed": String(filter === s[0]),
                                    class: filter === s[0] ? "primary" : "", text: s[1] + "（" + n + "）",
                                    onclick: function () { filter = s[0]; renderFilters(); renderClasses(); } }));
    });
  }

  function renderClasses() {
    var test = STATES.filter(function (s) { return s[0] === filter; })[0][2];
    var rows = classes.filter(test);
    HP.fillRows(document.querySelector("#classes-table tbody"), rows.map(function (c) {
      var occ = occupations[c.occupation_code];
      var where = institutionNames[c.institution_id];
      var progress = [c.in_session ? el("span", { class: "badge present", text: "上课中" }) : TIMING[c.timing] || "—"];
      if (c.sealed_at) progress.push(" · 已封存（" + HP.beijingText(c.sealed_at) + "）");
      return el("tr", { "data-class-id": String(c.id) },
        el("td", { text: c.id }),
        el("td", null, el("a", { href: "/manage/classes/" + c.id, text: c.name }), manages || !where ? null : el("div", { class: "muted", text: where })),
        el("td", { text: c.occupation_code + (occ ? " " + occ.name : "") + (c.direction && c.direction !== "—" ? "（" + c.direction + "）" : "") }),
        el("td", { text: HP.label("level", c.level) }),
        el("td", { text: c.starts_on + " 至 " + c.ends_on }),
        el("td", null, el("span", { class: "badge " + c.status, text: HP.label("status", c.status) })),
        el("td", null, progress),
        el("td", null, el("a", { href: "/manage/classes/" + c.id, text: manages ? "课次与学员 →" : "课次、学时与导出 →" })));
    }), 8, !classes.length ? (can.file_classes ? "还没有培训班，请在下方新建。" : "管辖范围内还没有培训班。") : "没有处于该状态的培训班。");
  }

  var venues = [];  // the institution's, for the picker's first view

  function loadVenues() {
    return HP.api("GET", "/api/institutions/" + current.id + "/venues").then(function (r) {
      if (!r.ok) { pageError(r.data.error); return; }
      venues = r.data;
      HP.fillRows(document.querySelector("#venues-table tbody"), r.data.map(function (v) {
        var fence = v.fence_kind === "circle"
          ? "圆形：中心 " + v.centre_lat + ", " + v.centre_lon + "，半径 " + v.radius_m + " 米"
          : "多边形：" + (v.polygon || []).length + " 个点";
        return el("tr", null, el("td", { text: v.id }), el("td", { text: v.name }), el("td", { text: v.address }),
          el("td", { text: fence }), el("td", { text: HP.label("datum", v.datum) }),
          el("td", { text: "≤ " + v.max_accuracy_m + " 米" }));
      }), 6, "还没有培训场地。线下课必须指定场地。");
    });
  }

  /* The venue form's map (map.js picker; only with a tile server): a click or a drag fills the
     centre's coordinates and sets the datum to the tiles' (a point taken on GCJ-02 tiles is
     GCJ-02); typed coordinates, datum or radius move the marker and its circle. Made when the
     form is first opened: Leaflet measures its box when it starts. */
  function venuePicker(form) {
    var box = document.getElementById("venue-map");
    if (!box || typeof HPMap === "undefined" || !HPMap.enabled) return;
    var f = form.elements, pick = null;
    var caption = document.getElementById("venue-map-caption"), told = caption.textContent;

    function number(input) { var v = input.value.trim(); return v === "" ? NaN : Number(v); }
    function sync() { if (pick) pick.show(number(f.centre_lat), number(f.centre_lon), f.datum.value, number(f.radius_m)); }

    function start() {
      if (pick) { pick.map.invalidateSize(); return; }
      pick = HPMap.picker(box, function (lat, lon) {
        f.centre_lat.value = lat.toFixed(6);
        f.centre_lon.value = lon.toFixed(6);
        f.datum.value = HPMap.datum;
        caption.textContent = "已在地图上取点：" + lat.toFixed(6) + ", " + lon.toFixed(6) +
          "，坐标系为底图的 " + HP.label("datum", HPMap.datum) + "。可拖动标记微调。";
      });
      if (!isFinite(number(f.centre_lat)) && venues.length && venues[0].centre_lat != null) {
        pick.look(venues[0].centre_lat, venues[0].centre_lon, venues[0].datum);  // near the institution's other venues
      }
      sync();
    }

    ["centre_lat", "centre_lon", "radius_m"].forEach(function (name) { f[name].addEventListener("input", sync); });
    f.datum.addEventListener("change", sync);
    form.addEventListener("reset", function () { caption.textContent = told; setTimeout(sync, 0); });  // after a venue is added
    var details = form.closest("details");
    if (!details || details.open) start();
    else details.addEventListener("toggle", function () { if (details.open) start(); });
  }

  function loadTeachers() {
    return HP.api("GET", "/api/institutions/" + current.id + "/teachers").then(function (r) {
      if (!r.ok) { pageError(r.data.error); return; }
      HP.fillRows(document.querySelector("#teachers-table tbody"), r.data.map(function (t) {
        return el("tr", null, el("td", { text: t.id }), el("td", { text: t.name }), el("td", { text: t.employer || "—" }),
          el("td", { text: t.title || "—" }), el("td", { text: t.full_time ? "专职" : "兼职" }));
      }), 5, "还没有登记教师。");
    });
  }

  function showRequiredHours() {
    var form = document.getElementById("class-form");
    var occ = occupations[form.elements.occupation_code.value];
    var level = form.elements.level.value;
    document.getElementById("required-hours").textContent = occ
      ? "目录规定学时：" + occ.hours[level] + " 学时（" + HP.label("level", level) + "）。地区政策可能另有规定，以检查计划的结果为准。"
      : "";
  }

  /* 人社: every class in scope, each named with its institution; nothing to create. */
  function startReadOnly() {
    return HP.api("GET", "/api/institutions").then(function (r) {
      if (r.ok) r.data.forEach(function (i) { institutionNames[i.id] = i.name; });
      return loadClasses();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!manages) { startReadOnly(); return; }
    document.getElementById("institution-select").addEventListener("change", function (ev) {
      choose(institutions.filter(function (i) { return String(i.id) === ev.target.value; })[0]);
    });

    var classForm = document.getElementById("class-form");
    classForm.elements.occupation_code.addEventListener("change", showRequiredHours);
    classForm.elements.level.addEventListener("change", showRequiredHours);
    classForm.elements.region_code.addEventListener("change", function () { fillDistricts(); });
    showRequiredHours();
    HP.onSubmit(classForm, function (form) {
      var v = HP.values(form);
      if (current) v.institution_id = current.id;
      if (v.fee !== undefined) v.fee = String(v.fee);
      return HP.api("POST", "/api/classes", v).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        window.location.href = "/manage/classes/" + r.data.id;
      });
    });

    HP.onSubmit(document.getElementById("venue-form"), function (form) {
      var v = HP.values(form);
      v.fence_kind = "circle";
      if (current) v.institution_id = current.id;
      return HP.api("POST", "/api/venues", v).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        return loadVenues();
      });
    });
    venuePicker(document.getElementById("venue-form"));

    HP.onSubmit(document.getElementById("teacher-form"), function (form) {
      var v = HP.values(form);
      if (current) v.institution_id = current.id;
      return HP.api("POST", "/api/teachers", v).then(function (r) {
        if (!r.ok) { HP.showError(form, r.data.error); return; }
        form.reset();
        return loadTeachers();
      });
    });

    loadDistricts().then(loadInstitutions);
  });
})();
