/* Real maps under the fences, fixes and venues on /live: the roll's 地图 panel (a venue's fence
   with every trainee's latest fix) and a map on each venue fence awaiting approval (with the
   district's venues near it); and on /manage, the venue form's picker (a click sets a venue's
   fence centre and its datum: the tiles'). Drawn with Leaflet (server/web/vendor/leaflet.js) on the
   deployment's tile server (MapSettings, #map-config); both are on the page only when a tile
   source is configured. Without one HPMap.enabled is false, every function here draws nothing,
   and the roll keeps its plan drawing (live.js fenceSvg).

   Tiles are drawn in one datum (AMap / Tencent: GCJ-02; Tianditu: WGS-84), fences in their
   venue's (wgs84 / gcj02 / bd09), fixes in WGS-84: a point drawn unconverted on the wrong tiles
   is several hundred metres off, a trainee inside shown outside. So every point is converted to
   the tiles' datum first, with the formulas of policies/geofence.py ported line for line; a
   browser test checks both give the same numbers on published pairs
   (tests/web/test_map_browser.py). */
"use strict";

var HPMap = (function () {
  // --- datum conversion: policies/geofence.py, the same constants and steps -------------------

  // The published GCJ-02 obfuscation: Krasovsky 1940 semi-major axis and eccentricity squared,
  // and the polynomial offset field around (105 E, 35 N); Baidu's x_pi.
  var GCJ_A = 6378245.0;
  var GCJ_EE = 0.00669342162296594323;
  var X_PI = Math.PI * 3000.0 / 180.0;

  function outOfChina(lat, lon) {
    return !(72.004 <= lon && lon <= 137.8347 && 0.8293 <= lat && lat <= 55.8271);
  }

  function transformLat(x, y) {
    var ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    ret += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    ret += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
    ret += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320.0 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
    return ret;
  }

  function transformLon(x, y) {
    var ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    ret += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
    ret += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
    ret += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
    return ret;
  }

  function wgs84ToGcj02(lat, lon) {
    if (outOfChina(lat, lon)) return [lat, lon];
    var dlat = transformLat(lon - 105.0, lat - 35.0);
    var dlon = transformLon(lon - 105.0, lat - 35.0);
    var rad = lat / 180.0 * Math.PI;
    var s = Math.sin(rad);
    var magic = 1 - GCJ_EE * s * s;
    var sqrtMagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((GCJ_A * (1 - GCJ_EE)) / (magic * sqrtMagic) * Math.PI);
    dlon = (dlon * 180.0) / (GCJ_A / sqrtMagic * Math.cos(rad) * Math.PI);
    return [lat + dlat, lon + dlon];
  }

  /* forward(x) = (lat, lon) solved by fixed-point iteration (geofence._invert): exact to 1e-10
     degrees, where the one-step shortcut many libraries use is up to metres off. */
  function invert(forward, lat, lon) {
    var x = lat, y = lon;
    for (var i = 0; i < 30; i++) {
      var f = forward(x, y);
      var dLat = f[0] - lat, dLon = f[1] - lon;
      x -= dLat;
      y -= dLon;
      if (Math.abs(dLat) < 1e-10 && Math.abs(dLon) < 1e-10) break;
    }
    return [x, y];
  }

  function gcj02ToWgs84(lat, lon) {
    return outOfChina(lat, lon) ? [lat, lon] : invert(wgs84ToGcj02, lat, lon);
  }

  function gcj02ToBd09(lat, lon) {
    var z = Math.hypot(lon, lat) + 0.00002 * Math.sin(lat * X_PI);
    var theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
    return [z * Math.sin(theta) + 0.006, z * Math.cos(theta) + 0.0065];
  }

  /* The published closed-form inverse as the start, refined until the forward formula maps it
     onto the BD-09 point (geofence.bd09_to_gcj02). */
  function bd09ToGcj02(lat, lon) {
    var x = lon - 0.0065, y = lat - 0.006;
    var z = Math.hypot(x, y) - 0.00002 * Math.sin(y * X_PI);
    var theta = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
    var gLat = z * Math.sin(theta), gLon = z * Math.cos(theta);
    for (var i = 0; i < 10; i++) {
      var b = gcj02ToBd09(gLat, gLon);
      var dLat = b[0] - lat, dLon = b[1] - lon;
      gLat -= dLat;
      gLon -= dLon;
      if (Math.abs(dLat) < 1e-10 && Math.abs(dLon) < 1e-10) break;
    }
    return [gLat, gLon];
  }

  var DATUMS = { wgs84: true, gcj02: true, bd09: true };

  /* [lat, lon] from one datum to another, through GCJ-02 when needed (geofence.convert). */
  function convert(lat, lon, source, target) {
    source = String(source || "").toLowerCase();
    target = String(target || "").toLowerCase();
    if (!DATUMS[source] || !DATUMS[target]) throw new Error("unknown datum: " + source + " -> " + target);
    if (source === target) return [lat, lon];
    var p = source === "bd09" ? bd09ToGcj02(lat, lon) : source === "wgs84" ? wgs84ToGcj02(lat, lon) : [lat, lon];
    if (target === "gcj02") return p;
    if (target === "bd09") return gcj02ToBd09(p[0], p[1]);
    return gcj02ToWgs84(p[0], p[1]);
  }

  // --- the maps -------------------------------------------------------------------------------

  var config = null;
  try {
    var node = document.getElementById("map-config");
    config = node ? JSON.parse(node.textContent) : null;
  } catch (e) { config = null; }
  var enabled = !!(config && config.tiles && typeof window.L === "object");

  var COLOURS = { fence: "#1b7a3d", venue: "#5b6b7c", accuracy: "#1f5fa8", inside: "#1b7a3d", outside: "#b42318", other: "#b26b00" };
  var VERDICT_WORDS = { inside: "在围栏内", outside: "在围栏外", uncertain: "误差圈跨越围栏边界" };
  var STATUS_WORDS = { approved: "已审核通过", rejected: "审核未通过", pending: "待审核" };

  var maps = [];  // [{ box, map }]: for mapOf() and for releasing maps whose box left the page

  function text(s) { return document.createTextNode(String(s)); }  // Leaflet puts a string in as HTML; a node it appends

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; });
  }

  function isNum(x) { return typeof x === "number" && isFinite(x); }

  function toMap(lat, lon, datum) { return convert(lat, lon, datum || "wgs84", config.datum); }

  function newMap(box) {
    // A re-rendered list leaves its old maps behind: release them (each holds a resize listener).
    maps = maps.filter(function (m) {
      if (m.box.isConnected) return true;
      m.map.remove();
      return false;
    });
    var map = L.map(box, { scrollWheelZoom: false, maxZoom: config.max_zoom });
    // The tile server learns this site's origin (it may check its key against it), never which
    // page, lesson or trainee is looked at: the staff pages send no referrer otherwise.
    var options = { maxZoom: config.max_zoom, referrerPolicy: "strict-origin", attribution: escapeHtml(config.attribution || "") };
    if (config.subdomains && config.subdomains.length) options.subdomains = config.subdomains;
    var tiles = L.tileLayer(config.tiles, options).addTo(map);
    if (config.labels) L.tileLayer(config.labels, Object.assign({}, options, { attribution: "" })).addTo(map);
    map.attributionControl.setPrefix("Leaflet");
    tiles.once("tileerror", function () {
      if (box.parentNode && !box.parentNode.querySelector(".hp-map-note")) {
        box.parentNode.insertBefore(HP.el("p", { class: "hp-map-note", text: "底图加载失败（地图服务器无法访问），围栏与定位仍按实际位置绘制" }), box.nextSibling);
      }
    });
    maps.push({ box: box, map: map });
    return map;
  }

  /* A fence as the roll gives it ({kind, datum, lat, lon, radius_m, points}) or as a venue record
     does ({fence_kind, datum, centre_lat, centre_lon, radius_m, polygon}). */
  function fenceOf(v) {
    if (!v) return null;
    if (v.fence_kind) return { kind: v.fence_kind, datum: v.datum, lat: v.centre_lat, lon: v.centre_lon, radius_m: v.radius_m, points: v.polygon };
    return v;
  }

  function fenceBounds(f) {
    if (f.kind === "circle" && isNum(f.lat) && isNum(f.lon) && isNum(f.radius_m)) {
      return L.latLng(toMap(f.lat, f.lon, f.datum)).toBounds(2 * f.radius_m);
    }
    if (f.points && f.points.length >= 3) return L.latLngBounds(f.points.map(function (p) { return toMap(p[0], p[1], f.datum); }));
    return null;
  }

  function fenceShape(f, colour, className, dashed) {
    var style = { color: colour, weight: 2, fillColor: colour, fillOpacity: dashed ? 0.05 : 0.12, className: className,
                  dashArray: dashed ? "5 4" : null };
    if (f.kind === "circle" && isNum(f.lat) && isNum(f.lon) && isNum(f.radius_m)) {
      return L.circle(toMap(f.lat, f.lon, f.datum), Object.assign({ radius: f.radius_m }, style));
    }
    if (f.points && f.points.length >= 3) return L.polygon(f.points.map(function (p) { return toMap(p[0], p[1], f.datum); }), style);
    return null;
  }

  function datumNote(datum) {
    var d = String(datum || "wgs84");
    return "围栏按 " + HP.label("datum", d) + " 录入" +
      (d === config.datum ? "，与底图一致" : "，已换算到底图的 " + HP.label("datum", config.datum));
  }

  // --- the roll's panel: one lesson's fence and every trainee's latest fix ----------------------

  var roll = { lesson: null, data: null, selected: null, map: null, group: null };

  /* The 地图 button of a roll row (null without a map, a fix or a fence). */
  function rollButton(t, fence) {
    if (!enabled || !fence || !t.last || !t.last.fix) return null;
    var b = HP.el("button", { type: "button", class: "link map-open", text: "地图", "aria-controls": "roll-map",
                              "data-map-trainee": t.trainee_id });
    b.addEventListener("click", function () { openRoll(t.trainee_id); });
    return b;
  }

  /* A new roll from the server (on open and after every pushed event): redrawn in place, the
     view kept, so a supervisor's panning is not undone by each check-in. */
  function showRoll(data) {
    if (!enabled) return;
    var lesson = data && data.lesson ? data.lesson.id : null;
    if (lesson !== roll.lesson) closeRoll();
    roll.lesson = lesson;
    roll.data = data;
    if (roll.selected !== null) drawRoll(false);
  }

  function openRoll(traineeId) {
    var panel = document.getElementById("roll-map");
    if (!panel || !roll.data) return;
    roll.selected = traineeId;
    panel.classList.remove("hidden");
    if (!roll.map) {
      roll.map = newMap(panel.querySelector(".hp-map"));
      roll.group = L.featureGroup().addTo(roll.map);
    }
    roll.map.invalidateSize();  // the panel was hidden: Leaflet measures its box again
    drawRoll(true);
    panel.scrollIntoView({ block: "nearest" });
  }

  function closeRoll() {
    roll.selected = null;
    var panel = document.getElementById("roll-map");
    if (panel) panel.classList.add("hidden");
  }

  function drawRoll(fit) {
    var data = roll.data, fence = data.fence;
    roll.group.clearLayers();
    var title = document.getElementById("roll-map-title"), caption = document.getElementById("roll-map-caption");
    if (!fence) { caption.textContent = "本课次没有场地围栏"; return; }
    var shape = fenceShape(fence, COLOURS.fence, "hp-fence", false);
    if (shape) roll.group.addLayer(shape.bindTooltip(text("场地围栏：" + (fence.name || ""))));
    var chosen = null;
    data.trainees.forEach(function (t) {
      var fix = t.last && t.last.fix;
      if (!fix || !isNum(fix.lat) || !isNum(fix.lon)) return;
      // services/dashboard.roll gives each fix in the venue's datum, so both convert the same way.
      var at = toMap(fix.lat, fix.lon, fence.datum);
      var verdict = t.last.fence && t.last.fence.verdict;
      var mine = t.trainee_id === roll.selected;
      if (mine && isNum(fix.accuracy_m)) {
        roll.group.addLayer(L.circle(at, { radius: fix.accuracy_m, color: COLOURS.accuracy, weight: 1, dashArray: "3 3",
                                           fillOpacity: 0.08, className: "hp-accuracy", interactive: false }));
      }
      var colour = COLOURS[verdict] || COLOURS.other;
      var dot = L.circleMarker(at, { radius: mine ? 7 : 5, color: "#fff", weight: 2, fillColor: colour, fillOpacity: 1,
                                     className: "hp-fix hp-fix-" + (verdict || "unknown") + " hp-trainee-" + t.trainee_id + (mine ? " hp-selected" : "") });
      dot.bindTooltip(text(t.name + (VERDICT_WORDS[verdict] ? "：" + VERDICT_WORDS[verdict] : "")), { permanent: mine, direction: "top", offset: [0, -6] });
      dot.on("click", function () { roll.selected = t.trainee_id; drawRoll(false); });
      roll.group.addLayer(dot);
      if (mine) chosen = { at: at, fix: fix, t: t, verdict: verdict };
    });
    if (chosen) {
      title.textContent = "地图：" + chosen.t.name + " 的定位";
      caption.textContent = (VERDICT_WORDS[chosen.verdict] || "未判定") + "，定位误差 " + Math.round(chosen.fix.accuracy_m) +
        " 米（虚线圈）。" + datumNote(fence.datum) + "。其他学员的最近定位以小圆点显示。";
    } else {
      title.textContent = "地图";
      caption.textContent = "该学员没有定位记录。" + datumNote(fence.datum) + "。";
    }
    if (fit) {
      var bounds = fenceBounds(fence);
      if (chosen) bounds = bounds ? bounds.extend(chosen.at) : L.latLngBounds([chosen.at, chosen.at]);
      if (bounds) roll.map.fitBounds(bounds, { padding: [28, 28], maxZoom: Math.min(18, config.max_zoom) });
    }
  }

  // --- a venue fence awaiting approval, with the district's venues near it ----------------------

  /* The map of one pending fence (f: an item of /api/venue-fences/pending), or null without a map. */
  function fenceMap(f) {
    if (!enabled) return null;
    var v = f.venue, fence = fenceOf(v);
    var canvas = HP.el("div", { class: "hp-map", role: "region", "aria-label": "场地围栏地图：" + v.name });
    var figure = HP.el("figure", { class: "map-figure" }, canvas,
      HP.el("figcaption", { class: "muted", text: datumNote(v.datum) + "。实线为待审核的围栏" +
        ((f.nearby || []).length ? "，虚线为本区县附近 1 公里内的其他场地" : "") + "。" }));
    // Leaflet measures its box when it starts: once the card is on the page.
    setTimeout(function () {
      if (!canvas.isConnected) return;
      var map = newMap(canvas);
      var bounds = fenceBounds(fence);
      if (!bounds) return;
      // The venues near it in view too: a fence over another venue's site is what to catch here.
      (f.nearby || []).forEach(function (n) {
        var shape = fenceShape(fenceOf(n), COLOURS.venue, "hp-venue", true);
        if (!shape) return;
        bounds.extend(fenceBounds(fenceOf(n)));
        shape.bindTooltip(text(n.institution + " · " + n.name + "（" + (STATUS_WORDS[n.status] || n.status) + "）")).addTo(map);
      });
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: Math.min(18, config.max_zoom) });
      var shape = fenceShape(fence, COLOURS.fence, "hp-fence", false);
      if (shape) shape.bindTooltip(text(v.name + "（待审核）")).addTo(map);
    }, 0);
    return figure;
  }

  // --- the venue form's picker (/manage): one marker, set by a click or a drag -------------------

  /* A map in `box` with a draggable marker for a venue's fence centre and the fence's circle
     around it, or null without a map. After a click or a drag, onPick(lat, lon) gets the marker's
     position in the tiles' datum (HPMap.datum), the datum the form then records: a point taken
     on GCJ-02 tiles is a GCJ-02 point. show(lat, lon, datum, radius) puts the marker on typed
     coordinates (converted from their datum to the tiles'; not numbers: no marker);
     look(lat, lon, datum) only centres the map there. */
  function picker(box, onPick) {
    if (!enabled) return null;
    var map = newMap(box);
    map.setView([35.0, 105.0], 4);  // China, until there is a point to show
    var pin = L.marker([0, 0], { draggable: true, title: "围栏中心（可拖动）", alt: "围栏中心",
                                 icon: L.divIcon({ className: "hp-pin", iconSize: [20, 20], iconAnchor: [10, 10] }) });
    var ring = L.circle([0, 0], { radius: 100, color: COLOURS.fence, weight: 2, fillColor: COLOURS.fence, fillOpacity: 0.12,
                                  className: "hp-fence", interactive: false });
    var shown = false;

    function place(at, radius) {
      pin.setLatLng(at);
      ring.setLatLng(at);
      if (isNum(radius) && radius > 0) ring.setRadius(radius);
      if (!shown) { ring.addTo(map); pin.addTo(map); shown = true; }
    }

    function picked(at) {
      at = at.wrap();
      place(at);
      onPick(at.lat, at.lng);
    }

    map.on("click", function (e) {
      picked(e.latlng);
      if (map.getZoom() < 14) map.setView(e.latlng, Math.min(16, config.max_zoom));  // then drag to refine
    });
    pin.on("drag", function () { ring.setLatLng(pin.getLatLng()); });
    pin.on("dragend", function () { picked(pin.getLatLng()); });

    return {
      map: map,
      show: function (lat, lon, datum, radius) {
        if (!isNum(lat) || !isNum(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
          if (shown) { pin.remove(); ring.remove(); shown = false; }
          return;
        }
        var at = L.latLng(toMap(lat, lon, datum));
        place(at, radius);
        if (!map.getBounds().pad(-0.1).contains(at)) map.setView(at, Math.max(map.getZoom(), Math.min(16, config.max_zoom)));
      },
      look: function (lat, lon, datum) {
        if (isNum(lat) && isNum(lon)) map.setView(toMap(lat, lon, datum), Math.min(14, config.max_zoom));
      },
    };
  }

  /* The Leaflet map drawn in `box` (tests read positions from it). */
  function mapOf(box) {
    for (var i = 0; i < maps.length; i++) if (maps[i].box === box) return maps[i].map;
    return null;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var close = document.getElementById("roll-map-close");
    if (close) close.addEventListener("click", closeRoll);
    var rollClose = document.getElementById("roll-close");
    if (rollClose) rollClose.addEventListener("click", closeRoll);
  });

  return { enabled: enabled, datum: enabled ? config.datum : null, convert: convert, rollButton: rollButton,
           showRoll: showRoll, fenceMap: fenceMap, picker: picker, mapOf: mapOf };
})();
