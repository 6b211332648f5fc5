/* The live dashboard (/live): classes in session with their counts, an alert stream, and a
   lesson's roll with its evidence, kept current over Socket.IO.

   Nothing is lost across a dropped connection: every event message carries a cursor (the event's
   id); on every (re)connect the page asks the snapshot for everything after the last cursor it
   saw. Counts always come from the server (the snapshot), never from adding up messages here. */
"use strict";

(function () {
  var page = HP.pageData();
  var state = { cursor: null, lessons: [], openLesson: null, institution: "", alerts: {}, socket: null };
  var STATE_NAMES = { present: "已签到", checked_out: "已签退", missing: "未签到", rejected: "未通过", pending_review: "待复核" };
  //: An online lesson's presence (services/dashboard.online_presence): the last report of the page.
  var PRESENCE_NAMES = { watching: "观看中", paused: "已暂停", hidden: "页面在后台", gone: "已离开" };
  var VERDICTS = { verified: "已核验", rejected: "未通过", flagged: "待复核", approved: "复核通过" };
  var KINDS = { check_in: "签到", check_out: "签退", spot_check: "抽查回应", review_decision: "复核决定" };
  var STEPS = { turn_left: "向左转头", turn_right: "向右转头", blink: "眨眼" };

  function $(id) { return document.getElementById(id); }
  function status(text, on) {
    var node = $("live-status");
    node.textContent = text;
    node.className = "conn " + (on ? "on" : "off");
  }
  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  // --- snapshot: lessons, counts, alerts, and whatever was missed --------------------------------

  function snapshotUrl() {
    var q = [];
    if (state.cursor !== null) q.push("since=" + state.cursor);
    if (state.institution) q.push("institution_id=" + encodeURIComponent(state.institution));
    return "/api/live/snapshot" + (q.length ? "?" + q.join("&") : "");
  }

  function refresh() {
    return HP.api("GET", snapshotUrl()).then(function (r) {
      if (!r.ok) { HP.showError($("live-error"), r.data.error); return; }
      HP.clearError($("live-error"));
      r.data.events.forEach(function (m) { onEvent(m, true); });
      if (state.cursor === null || r.data.cursor > state.cursor) state.cursor = r.data.cursor;
      r.data.missed_spot_checks.forEach(function (m) {
        addAlert("spot:" + m.spot_check_id, "missed", m.due_at,
                 m.class_name + " · " + m.trainee_name, "随机抽查未在时限内回应", m.lesson_id);
      });
      (r.data.cross_checks || []).forEach(crossCheckAlert);
      if (r.data.events_truncated) addAlert("truncated", "info", r.data.now, "离线期间记录较多", "仅显示了部分，请刷新页面查看完整情况", null);
      state.lessons = r.data.lessons;
      renderLessons();
      $("live-updated").textContent = "更新于 " + HP.beijingText(r.data.now);
    });
  }
  var refreshSoon = debounce(refresh, 250);

  function crossCheckAlert(c) {
    addAlert("cross:" + c.group_photo_id + ":" + c.trainee_id, "flagged", c.at, c.class_name + " · " + (c.trainee_name || ""),
             "合影核对：" + c.detail, c.lesson_id);
  }

  /* Many trainees of one lesson failing at once (the server says when: dashboard.mass_failure):
     the venue's fence may be wrong, or it is a coordinated attempt. Raised once per lesson and page. */
  function massFailureAlert(l) {
    if (!l.mass_failure) return;
    addAlert("mass:" + l.lesson_id, "rejected", new Date().toISOString(), l.class_name,
             "多名学员签到未通过（" + l.rejected + " 人）：请核对场地和围栏是否有误，或是否有人集体冒签", l.lesson_id);
  }

  function renderLessons() {
    var tbody = $("lessons-table").tBodies[0];
    HP.clear(tbody);
    if (!state.lessons.length) {
      HP.append(tbody, HP.el("tr", {}, HP.el("td", { colspan: 7, class: "muted", text: "现在没有正在上课的培训班" })));
      return;
    }
    state.lessons.forEach(function (l) {
      massFailureAlert(l);
      var open = HP.el("button", { type: "button", class: "link", text: "点名册", "data-lesson": l.lesson_id });
      open.addEventListener("click", function () { openRoll(l.lesson_id); });
      var row = HP.el("tr", { "data-lesson": l.lesson_id, class: l.running ? "" : "muted" },
        HP.el("td", {}, HP.el("strong", { text: l.class_name }), HP.el("small", { text: [l.title, HP.label("mode", l.mode)].filter(Boolean).join(" · ") })),
        HP.el("td", { class: "nowrap", text: HP.beijingText(l.starts_at).slice(-5) + "–" + HP.beijingText(l.ends_at).slice(-5) }),
        // Trainees, not attempts (services/counts.py defines each figure).
        HP.el("td", { class: "count checked-in", text: l.checked_in + " / " + l.enrolled }),
        HP.el("td", { class: "count bad rejected", text: l.rejected }),
        HP.el("td", { class: "count warn awaiting", text: l.awaiting_review }),
        HP.el("td", { class: "count warn missed", text: l.spot_checks_missed }),
        HP.el("td", {}, open));
      HP.append(tbody, row);
    });
  }

  // --- alerts ------------------------------------------------------------------------------------

  function addAlert(key, kind, at, who, what, lessonId) {
    if (state.alerts[key]) return;
    state.alerts[key] = true;
    var list = $("alerts");
    var empty = list.querySelector(".empty");
    if (empty) list.removeChild(empty);
    var item = HP.el("li", { class: "alert " + kind, "data-key": key },
      HP.el("time", { text: HP.beijingText(at) }), HP.el("strong", { text: who }), HP.el("span", { text: what }));
    if (lessonId) {
      var b = HP.el("button", { type: "button", class: "link", text: "查看" });
      b.addEventListener("click", function () { openRoll(lessonId); });
      item.appendChild(b);
    }
    list.insertBefore(item, list.firstChild);
    while (list.children.length > 200) list.removeChild(list.lastChild);
  }

  function resolveAlert(item, review) {
    item.classList.add("resolved");
    var note = item.querySelector(".resolution") || item.appendChild(HP.el("span", { class: "resolution" }));
    note.textContent = reviewWords(review);
  }

  function reasonText(m) {
    return (m.reasons || []).filter(function (r) { return r.code !== "late"; })
      .map(function (r) { return r.detail + (r.clause ? "（" + HP.clauseText(r.clause) + "）" : ""); }).join("；");
  }

  /* ``replayed``: the event came in a snapshot, whose counts are already current. */
  function onEvent(m, replayed) {
    if (state.cursor !== null && m.cursor <= state.cursor && state.alerts["event:" + m.event_id]) return;
    if (state.cursor === null || m.cursor > state.cursor) state.cursor = m.cursor;
    if (state.institution && String(m.institution_id) !== String(state.institution)) return;
    var who = m.class_name + " · " + (m.trainee_name || "");
    if (m.kind === "review_decision") {
      // The decision resolves the alert of the event it decided (in the same push as the counts);
      // only when that alert is not on screen does it show as a line of its own.
      var decided = document.querySelector('#alerts li[data-key="event:' + m.decides_event_id + '"]');
      if (decided && m.review) resolveAlert(decided, m.review);
      else addAlert("event:" + m.event_id, "info", m.at, who, m.review ? reviewWords(m.review) : "复核决定", m.lesson_id);
    } else if (m.alert) {
      addAlert("event:" + m.event_id, m.alert, m.at, who,
               (KINDS[m.kind] || m.kind) + VERDICTS[m.verdict] + "：" + reasonText(m), m.lesson_id);
      var item = document.querySelector('#alerts li[data-key="event:' + m.event_id + '"]');
      if (item && m.review) resolveAlert(item, m.review);
    }
    // The message carries the lesson's counts after this event (counted once by the server for
    // every watcher); only a lesson not on screen yet needs a new snapshot.
    var shown = state.lessons.filter(function (l) { return l.lesson_id === m.lesson_id; })[0];
    if (!replayed && shown && m.lesson_counts) {
      Object.assign(shown, m.lesson_counts);
      renderLessons();
      var row = document.querySelector('#lessons-table tr[data-lesson="' + m.lesson_id + '"]');
      if (row) row.classList.add("flash");
    } else if (!replayed) {
      refreshSoon();
    }
    if (state.openLesson === m.lesson_id) rollSoon();
  }

  // --- the roll (drill-down) -----------------------------------------------------------------------

  function fenceSvg(fence, fix) {
    // A plan in metres around the fence centre (no map tiles): the fence, the fix and its
    // accuracy circle, in the venue's own datum (the server converted the fix).
    var NS = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "-60 -60 120 120");
    svg.setAttribute("class", "plan");
    svg.setAttribute("role", "img");
    if (!fence || fence.lat === null || fence.lat === undefined) {
      if (fence && fence.points && fence.points.length) {
        var c = fence.points.reduce(function (a, p) { return [a[0] + p[0] / fence.points.length, a[1] + p[1] / fence.points.length]; }, [0, 0]);
        fence = Object.assign({}, fence, { lat: c[0], lon: c[1] });
      } else { return svg; }
    }
    var k = Math.cos(fence.lat * Math.PI / 180) * 111320;
    function local(lat, lon) { return [(lon - fence.lon) * k, -(lat - fence.lat) * 110540]; }
    var extent = fence.radius_m || 50;
    if (fence.points) fence.points.forEach(function (p) { var q = local(p[0], p[1]); extent = Math.max(extent, Math.abs(q[0]), Math.abs(q[1])); });
    var f = fix ? local(fix.lat, fix.lon) : null;
    if (f) extent = Math.max(extent, Math.abs(f[0]) + fix.accuracy_m, Math.abs(f[1]) + fix.accuracy_m);
    var s = 55 / extent;
    function shape(tag, attrs) {
      var n = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (a) { n.setAttribute(a, attrs[a]); });
      svg.appendChild(n);
      return n;
    }
    if (fence.kind === "circle") shape("circle", { cx: 0, cy: 0, r: fence.radius_m * s, class: "fence" });
    else shape("polygon", { points: fence.points.map(function (p) { var q = local(p[0], p[1]); return q[0] * s + "," + q[1] * s; }).join(" "), class: "fence" });
    if (f) {
      shape("circle", { cx: f[0] * s, cy: f[1] * s, r: Math.max(1, fix.accuracy_m * s), class: "accuracy" });
      shape("circle", { cx: f[0] * s, cy: f[1] * s, r: 2, class: "fix" });
    }
    var title = document.createElementNS(NS, "title");
    title.textContent = f ? "定位点与围栏（半径 " + Math.round(fence.radius_m || 0) + " 米，误差 " + Math.round(fix.accuracy_m) + " 米）" : "无定位";
    svg.insertBefore(title, svg.firstChild);
    return svg;
  }

  function photoButton(eventId, frames) {
    if (!frames) return HP.el("span", { class: "muted", text: "—" });
    var b = HP.el("button", { type: "button", class: "link", text: "查看照片" });
    b.addEventListener("click", function () {
      // Biometric data: fetched only on request, and the server records who looked.
      fetch("/api/events/" + eventId + "/frames/0", { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.blob();
      }).then(function (blob) {
        var img = HP.el("img", { class: "thumb", alt: "签到画面（第 1 帧）" });
        img.src = URL.createObjectURL(blob);
        b.replaceWith(img);
      }).catch(function () { b.textContent = "照片无法加载"; });
    });
    return b;
  }

  /* The fence verdict in words: distance_m is from the fix to the fence's edge, negative inside. */
  function fenceWords(f) {
    var d = Math.round(Math.abs(f.distance_m));
    if (f.verdict === "inside") return "在围栏内（距边界约 " + d + " 米）";
    if (f.verdict === "uncertain") {
      return (f.distance_m <= 0 ? "定位点在围栏内约 " + d + " 米" : "定位点在围栏外约 " + d + " 米") + "，但定位误差范围跨越围栏边界，无法确定";
    }
    if (f.verdict === "too_inaccurate") return "定位误差过大，无法判断是否在场地";
    return "在围栏外，距边界约 " + d + " 米";
  }

  /* A reviewer's decision beside the event it decided: what, who, when, why. */
  function reviewWords(r) {
    return "已复核：" + (r.decision === "approved" ? "批准" : "驳回") + "（" + (r.by || "复核人员") + "，" +
      HP.beijingText(r.at) + (r.reason ? "：" + r.reason : "") + "）";
  }

  /* 确认本人在场: a trainee who refused face recognition asked from their phone; the lesson's
     teacher, in the room, confirms them with this device's location and the room code shown
     (services/nonface.py). One tap per request; a second tap changes nothing. */
  function teacherFix() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        resolve({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy_m: pos.coords.accuracy, datum: "wgs84",
                  fix_at: pos.timestamp ? new Date(pos.timestamp).toISOString() : undefined });
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
    });
  }

  function attestButton(t, a) {
    var b = HP.el("button", { type: "button", class: "primary attest", "data-request": a.request_id,
                              text: "确认本人在场（" + (KINDS[a.kind] || a.kind) + "）" });
    b.addEventListener("click", function () {
      b.disabled = true;
      b.textContent = "正在获取本机位置…";
      teacherFix().then(function (fix) {
        if (!fix) { b.disabled = false; b.textContent = "无法获取本机位置，请打开定位后重试"; return; }
        return HP.api("POST", "/api/lessons/" + state.openLesson + "/nonface-requests/" + a.request_id + "/attest",
                      { location: fix, room_code: state.roomCode || null }).then(function (r) {
          if (!r.ok) { b.disabled = false; b.textContent = "确认本人在场（重试）"; HP.showError($("roll-error"), r.data.error); return; }
          HP.clearError($("roll-error"));
          b.replaceWith(HP.el("span", { class: "tag attested " + (r.data.verdict === "verified" ? "present" : "pending_review"),
                                        text: "已确认：" + (VERDICTS[r.data.verdict] || r.data.verdict) }));
          rollSoon();
        });
      });
    });
    return b;
  }

  function rollRow(t, fence) {
    var last = t.last;
    var face = last && last.face || {};
    var faceText = face.distance === null || face.distance === undefined ? "—"
      : face.distance.toFixed(3) + " / 阈值 " + Number(face.threshold).toFixed(2) + (face.distance < face.threshold ? " ✓" : " ✗");
    var live = !last || face.passed === undefined || face.passed === null ? "—"
      : (face.passed ? "通过" : "未通过") + "（要求 " + (face.steps || []).map(function (s) { return STEPS[s] || s; }).join("→") +
        "；检测到 " + ((face.events || []).map(function (s) { return STEPS[s] || s; }).join("→") || "无") + "）";
    var where = HP.el("td", { class: "where" });
    if (last && (last.fix || fence)) where.appendChild(fenceSvg(fence, last.fix));
    if (last && last.fence && last.fence.distance_m !== undefined) {
      where.appendChild(HP.el("small", { text: fenceWords(last.fence) }));
    }
    // The phone's own time of the fix (evidence only): a position a minute or more older than the
    // submission was probably cached, or the phone's clock is off; either is worth a look.
    var age = last && last.fix && last.fix.fix_age_s;
    if (typeof age === "number" && Math.abs(age) >= 60) {
      where.appendChild(HP.el("small", { class: "warn", text: age > 0 ? "定位时间早于提交 " + Math.round(age / 60) + " 分钟"
                                                                        : "手机时钟快于服务器 " + Math.round(-age / 60) + " 分钟" }));
    }
    HP.append(where, HPMap.rollButton(t, fence));  // a real map of this fix (map.js), when the deployment has tiles
    var who = HP.el("td", { text: t.name });
    if (t.face_refused) who.appendChild(HP.el("small", { class: "tag method", text: "未使用人脸" }));
    if (page.attests) (t.awaiting_teacher || []).forEach(function (a) { who.appendChild(attestButton(t, a)); });
    var method = last && last.method_label ? "【" + last.method_label + "】" : "";
    return HP.el("tr", { class: "state-" + t.state, "data-trainee": t.trainee_id },
      who,
      HP.el("td", {}, HP.el("span", { class: "badge " + t.state, text: STATE_NAMES[t.state] || t.state })),
      HP.el("td", { class: "detail", text: last ? method + HP.beijingText(last.at) + " " + (KINDS[last.kind] || last.kind) + " " +
                                               (VERDICTS[last.effective] || last.effective) + (reasonText(last) ? "：" + reasonText(last) : "") +
                                               (last.review ? " · " + reviewWords(last.review) : "") : "—" }),
      presenceCell(t.presence),
      HP.el("td", { class: "nowrap", text: faceText }),
      HP.el("td", { class: "detail", text: live }),
      where,
      HP.el("td", {}, last ? photoButton(last.event_id, last.frames) : HP.el("span", { text: "—" })));
  }

  /* Online lessons: watching / paused / hidden / gone, how long ago the page last reported, where
     in the video, the minutes credited so far and the spot checks passed and missed. */
  function presenceCell(p) {
    if (!p) return HP.el("td", { class: "muted", text: "—" });
    var bits = [PRESENCE_NAMES[p.status] || p.status];
    if (p.age_s !== null) bits.push(p.age_s < 60 ? p.age_s + " 秒前" : Math.round(p.age_s / 60) + " 分钟前");
    if (typeof p.position_s === "number") {
      var s = Math.floor(p.position_s);
      bits.push("视频 " + Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2));
    }
    bits.push("已计 " + p.credited_minutes + " 分钟");
    bits.push("抽查 通过 " + p.spot_checks.passed + " / 未完成 " + p.spot_checks.missed);
    return HP.el("td", { class: "presence presence-" + p.status, text: bits.join(" · ") });
  }

  function loadRoll() {
    var id = state.openLesson;
    if (!id) return Promise.resolve();
    return HP.api("GET", "/api/lessons/" + id + "/roll").then(function (r) {
      if (!r.ok) { HP.showError($("roll-error"), r.data.error); return; }
      if (state.openLesson !== id) return;
      var l = r.data.lesson;
      $("roll-meta").textContent = [l.class_name, l.title, HP.label("mode", l.mode),
        HP.beijingText(l.starts_at) + "–" + HP.beijingText(l.ends_at).slice(-5)].filter(Boolean).join(" · ");
      var tbody = $("roll-table").tBodies[0];
      HP.clear(tbody);
      r.data.trainees.forEach(function (t) { tbody.appendChild(rollRow(t, r.data.fence)); });
      HPMap.showRoll(r.data);
      state.rollNames = {};
      state.rollPresence = {};
      r.data.trainees.forEach(function (t) {
        state.rollNames[String(t.trainee_id)] = t.name;
        if (t.presence) state.rollPresence[String(t.trainee_id)] = t.presence;
      });
      if ($("group-photo")) $("group-photo").classList.toggle("hidden", l.mode !== "offline");
      if (l.mode === "offline") showRoomCode(id); else hideRoomCode();
      // A change of status is pushed (onPresence); the credited minutes, the report's age and
      // "gone" (no report at all: nothing to push) come with this poll of the roll.
      clearTimeout(state.rollTimer);
      if (l.mode === "online") state.rollTimer = setTimeout(function () { if (state.openLesson === id) loadRoll(); }, 15000);
      // Requests to confirm are not pushed: the teacher's roll looks again while anyone in it
      // refused face recognition.
      else if (page.attests && r.data.trainees.some(function (t) { return t.face_refused; })) {
        state.rollTimer = setTimeout(function () { if (state.openLesson === id) loadRoll(); }, 10000);
      }
      if (page.reviews) loadReviews(l.class_id);
    });
  }
  var rollSoon = debounce(loadRoll, 300);

  /* A trainee's presence changed (sockets.PresencePush): the cell shows the new status and video
     position now, with the minutes and spot checks of the last roll read (the poll brings new
     ones). A message states the status (it is not a step), so one heard twice (two server
     processes) changes nothing, and one older than the report shown is dropped. */
  function onPresence(m) {
    if (state.openLesson !== m.lesson_id || !state.rollPresence) return;
    m.trainees.forEach(function (p) {
      var tid = String(p.trainee_id), shown = state.rollPresence[tid];
      if (!shown || (shown.last_at && Date.parse(shown.last_at) > Date.parse(p.at))) return;
      var now = Object.assign({}, shown, { status: p.status, position_s: p.position_s, last_at: p.at, age_s: 0 });
      state.rollPresence[tid] = now;
      var cell = document.querySelector('#roll-table tr[data-trainee="' + tid + '"] td.presence');
      if (cell) cell.replaceWith(presenceCell(now));
    });
  }

  function openRoll(lessonId) {
    state.openLesson = lessonId;
    state.rollPresence = null;  // another lesson's until its roll is read
    $("roll-card").classList.remove("hidden");
    HP.clearError($("roll-error"));
    loadRoll().then(function () { $("roll-card").scrollIntoView({ behavior: "smooth", block: "start" }); });
  }

  /* A reason box with approve and reject buttons: a decision needs a reason (2 characters or more),
     `post(approved, reason)` sends it, `after()` reloads what it changed. */
  function decisionBox(tag, approveText, rejectText, post, after, disabled) {
    var reason = HP.el("input", { name: "reason", maxlength: 512, placeholder: "复核理由（必填）", "aria-label": "复核理由" });
    var approve = HP.el("button", { type: "button", text: approveText, disabled: !!disabled });
    var reject = HP.el("button", { type: "button", class: "danger", text: rejectText, disabled: !!disabled });
    var box = HP.el(tag, { class: "review" }, reason, approve, reject, HP.el("div", { class: "form-error", "aria-live": "polite" }));
    function decide(approved) {
      HP.clearError(box);
      if (reason.value.trim().length < 2) { HP.showError(box, { message: "请填写复核理由（至少 2 个字）" }); reason.focus(); return; }
      HP.busy(approve, true); HP.busy(reject, true);
      post(approved, reason.value.trim()).then(function (res) {
        HP.busy(approve, false); HP.busy(reject, false);
        if (!res.ok) { HP.showError(box, res.data.error); return; }
        after();
      });
    }
    approve.addEventListener("click", function () { decide(true); });
    reject.addEventListener("click", function () { decide(false); });
    return box;
  }

  /* The review table: the queue of the open lesson, then this page's own decisions (the queue no
     longer lists a decided event, but the reviewer should see what was recorded: decision,
     reviewer, time, reason). An open details panel survives the reload a pushed event causes,
     with what was typed in it and the focus. */
  function loadReviews(classId) {
    return HP.api("GET", "/api/classes/" + classId + "/review-queue").then(function (r) {
      var tbody = $("review-table").tBodies[0];
      if (!r.ok) { HP.clear(tbody); HP.showError($("roll-error"), r.data.error); return; }
      var focused = tbody.contains(document.activeElement) && document.activeElement.closest(".review-details")
        ? document.activeElement : null;
      HP.clear(tbody);
      if (state.decidedLesson !== state.openLesson) { state.decided = {}; state.panels = {}; state.decidedLesson = state.openLesson; }
      var mine = r.data.filter(function (e) { return e.lesson_id === state.openLesson && !state.decided[e.event_id]; });
      if (!mine.length) {
        tbody.appendChild(HP.el("tr", {}, HP.el("td", { colspan: 4, class: "muted", text: "没有待复核的记录" })));
      }
      mine.forEach(function (e) {
        var cell = decisionBox("td", "批准", "驳回", function (decision, reason) { return postReview(e, decision, reason); }, loadRoll);
        var details = HP.el("button", { type: "button", class: "link", text: "复核详情", "aria-expanded": state.panels[e.event_id] ? "true" : "false" });
        details.addEventListener("click", function () { toggleDetails(e, details); });
        tbody.appendChild(HP.el("tr", { "data-event": e.event_id },
          HP.el("td", { text: e.trainee_name || "" }),
          HP.el("td", {}, HP.beijingText(e.at) + " " + (KINDS[e.kind] || e.kind) +
                (e.method === "teacher_attested" ? "·老师确认（未使用人脸）" : "") + " ", details),
          HP.el("td", { class: "detail", text: reasonText(e) }), cell));
        if (state.panels[e.event_id]) tbody.appendChild(state.panels[e.event_id]);
      });
      Object.keys(state.decided).forEach(function (id) {
        var d = state.decided[id];
        tbody.appendChild(HP.el("tr", { "data-event": id, class: "decided" },
          HP.el("td", { text: d.event.trainee_name || "" }),
          HP.el("td", { text: HP.beijingText(d.event.at) + " " + (KINDS[d.event.kind] || d.event.kind) }),
          HP.el("td", { class: "detail", text: reasonText(d.event) }),
          HP.el("td", { class: "decision", text: reviewWords(d.review) })));
      });
      if (focused && document.body.contains(focused)) focused.focus();
    });
  }

  /* A decision from the row or its details panel; the answer's `review` (who by name, when,
     why) is what the row shows from then on. */
  function postReview(e, approved, reason) {
    return HP.api("POST", "/api/events/" + e.event_id + "/review", { decision: approved ? "approved" : "rejected", reason: reason })
      .then(function (res) {
        if (res.ok) {
          state.decided[e.event_id] = { event: e, review: res.data.review || { decision: res.data.decision, at: res.data.at, reason: reason } };
          delete state.panels[e.event_id];
        }
        return res;
      });
  }

  function toggleDetails(e, button) {
    if (state.panels[e.event_id]) {
      state.panels[e.event_id].remove();
      delete state.panels[e.event_id];
      button.setAttribute("aria-expanded", "false");
      return;
    }
    var body = HP.el("td", { colspan: 4 }, HP.el("p", { class: "muted", text: "正在读取复核详情…" }));
    var panel = HP.el("tr", { class: "review-details", "data-details": e.event_id }, body);
    state.panels[e.event_id] = panel;
    button.setAttribute("aria-expanded", "true");
    button.closest("tr").after(panel);
    HP.api("GET", "/api/events/" + e.event_id + "/context").then(function (r) {
      HP.clear(body);
      if (!r.ok) { body.appendChild(HP.el("div", { class: "form-error" })); HP.showError(body, r.data.error); return; }
      HP.append(body, detailsOf(e, r.data));
      var reason = body.querySelector("input[name=reason]");
      if (reason) reason.focus();
    });
  }

  /* An image of the evidence, fetched when asked (the server records each view). One at a time:
     each view writes its audit entry, and on SQLite two such writes at once can collide (503). */
  var imageQueue = Promise.resolve();
  function evidenceImage(url, alt) {
    var fig = HP.el("figure", {}, HP.el("span", { class: "muted", text: "读取中…" }), HP.el("figcaption", { text: alt }));
    imageQueue = imageQueue.then(function () {
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.blob();
      }).then(function (blob) {
        var img = HP.el("img", { alt: alt });
        img.src = URL.createObjectURL(blob);
        fig.firstChild.replaceWith(img);
      }).catch(function () { fig.firstChild.textContent = "照片无法加载"; });
    });
    return fig;
  }

  function range(n) { var out = []; for (var i = 0; i < n; i++) out.push(i); return out; }

  function detailsOf(e, ctx) {
    var base = "/api/events/" + ctx.event_id;
    var who = ctx.trainee && ctx.trainee.name ? ctx.trainee.name : (e.trainee_name || "学员");
    var reasons = HP.el("ul", { class: "reasons" }, (ctx.reasons || []).filter(function (x) { return x.code !== "late"; }).map(function (x) {
      return HP.el("li", { text: x.detail + (x.clause ? "（" + HP.clauseText(x.clause) + "）" : "") });
    }));
    var facts = [];
    var replay = ctx.replay;
    if (replay) {
      facts.push(HP.el("p", { text: "疑似重放：本次第 " + replay.frames_seen_before.map(function (i) { return i + 1; }).join("、") +
        " 帧与此前提交的画面相同" + (replay.matches.length ? "，见于 " + replay.matches.map(function (m) {
          return "记录 " + m.event_id + "（" + HP.beijingText(m.at) + " " + (KINDS[m.kind] || m.kind) + "，第 " +
            m.frames.map(function (j) { return j + 1; }).join("、") + " 帧）";
        }).join("；") : "") + (replay.unmatched ? "；另有 " + replay.unmatched + " 帧为镜像相同，无法对应到具体记录" : "") }));
    }
    var other = ctx.other;
    if (other) {
      facts.push(HP.el("p", { text: "人脸与另一名学员相似：" + (other.visible ? other.name + "（学员编号 " + other.trainee_id + "，" +
        (other.same_class ? "同班" : "不在本班") + "）" : "不在您管辖范围内的学员") + "，距离 " + Number(other.distance).toFixed(3) +
        "（与本人 " + Number(other.claimed_distance).toFixed(3) + "）" }));
    }
    // The photos: biometric data, so nothing is fetched until the reviewer asks, and each view is on the record.
    var photos = HP.el("div", { class: "sides" });
    var show = HP.el("button", { type: "button", text: "查看照片（将记录查看）" });
    show.addEventListener("click", function () {
      show.remove();
      photos.appendChild(HP.el("section", { class: "side" }, HP.el("h4", { text: who + " 的登记照片" }),
        ctx.enrolment_photos ? range(ctx.enrolment_photos).map(function (i) {
          return evidenceImage(base + "/enrolment-photos/" + ctx.trainee.id + "/" + i, "登记照片 " + (i + 1));
        }) : HP.el("p", { class: "muted", text: "没有登记照片（已删除或未登记）" })));
      photos.appendChild(HP.el("section", { class: "side" }, HP.el("h4", { text: "本次" + (KINDS[ctx.kind] || "") + "画面" }),
        ctx.frames ? range(ctx.frames).map(function (i) {
          return evidenceImage(base + "/frames/" + i, "本次第 " + (i + 1) + " 帧");
        }) : HP.el("p", { class: "muted", text: "没有画面" })));
      if (replay) {
        replay.matches.forEach(function (m) {
          photos.appendChild(HP.el("section", { class: "side" },
            HP.el("h4", { text: "此前的记录 " + m.event_id + "（" + HP.beijingText(m.at) + "）中相同的画面" }),
            m.visible ? m.frames.map(function (j) { return evidenceImage("/api/events/" + m.event_id + "/frames/" + j, "记录 " + m.event_id + " 第 " + (j + 1) + " 帧"); })
              : HP.el("p", { class: "muted", text: "该记录不在您的管辖范围内，无法查看画面" })));
        });
      }
      if (other && other.visible) {
        photos.appendChild(HP.el("section", { class: "side" }, HP.el("h4", { text: "相似学员 " + other.name + " 的登记照片" }),
          other.enrolment_photos ? range(other.enrolment_photos).map(function (i) {
            return evidenceImage(base + "/enrolment-photos/" + other.trainee_id + "/" + i, other.name + " 登记照片 " + (i + 1));
          }) : HP.el("p", { class: "muted", text: "没有登记照片" })));
      }
    });
    var where = HP.el("div", { class: "where" });
    if (ctx.fix || ctx.fence) where.appendChild(fenceSvg(ctx.fence, ctx.fix));
    if (ctx.fence_verdict && ctx.fence_verdict.distance_m !== undefined) where.appendChild(HP.el("small", { text: fenceWords(ctx.fence_verdict) }));
    where.appendChild(HP.el("small", { text: ctx.fix ? "定位误差 " + Math.round(ctx.fix.accuracy_m) + " 米" : "本次记录没有定位" }));
    // A real map of the trainee's latest fix, when the deployment has tiles (map.js, as the roll's 地图).
    HP.append(where, HPMap.rollButton({ trainee_id: ctx.trainee.id, last: { fix: ctx.fix } }, ctx.fence));
    var box = decisionBox("div", "批准", "驳回", function (decision, reason) { return postReview(e, decision, reason); }, loadRoll);
    keyboardDecisions(box);
    return [HP.el("div", { class: "context" }, HP.el("div", {}, reasons, facts, show, photos), where), box,
            HP.el("p", { class: "muted keys", text: "键盘操作：填写理由后按回车选中“批准”，按 Tab 选中“驳回”，再按回车提交；Alt+Shift+A 批准，Alt+Shift+R 驳回" })];
  }

  /* Keyboard first: the reason is focused when the panel opens; Enter in it moves to 批准 (Tab
     on to 驳回) and Enter on a button submits that decision, so Enter alone never decides. */
  function keyboardDecisions(box) {
    var reason = box.querySelector("input[name=reason]");
    var buttons = box.querySelectorAll("button");
    buttons[0].setAttribute("accesskey", "a");
    buttons[1].setAttribute("accesskey", "r");
    reason.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.isComposing) { ev.preventDefault(); buttons[0].focus(); }
    });
  }

  // --- spot checks --------------------------------------------------------------------------------

  function spotCheckAll() {
    var button = $("spot-check-all");
    HP.busy(button, true);
    HP.api("POST", "/api/lessons/" + state.openLesson + "/spot-checks", {}).then(function (r) {
      HP.busy(button, false);
      if (!r.ok) { HP.showError($("roll-error"), r.data.error); return; }
      HP.clearError($("roll-error"));
      var secs = r.data.length && r.data[0].seconds_left;  // the region's time to answer
      addAlert("issued:" + Date.now(), "info", new Date().toISOString(), "已发起随机抽查",
               "向在课堂中的 " + r.data.length + " 名学员推送" + (secs ? "，请在 " + secs + " 秒内回应" : ""), state.openLesson);
    });
  }

  // --- the room code (课堂码) for the classroom screen (teacher, institution) ------------------------

  /* The code the trainees type at check-in, fetched again when it changes (every 15 s). A code is
     only served while the lesson can be checked in to; another lesson's is useless to them. */
  function showRoomCode(id) {
    if (!page.room_codes || state.roomCodeLesson === id) return;
    state.roomCodeLesson = id;
    fetchRoomCode(id);
  }

  function hideRoomCode() {
    state.roomCodeLesson = null;
    clearTimeout(state.roomCodeTimer);
    clearInterval(state.roomCodeTick);
    if ($("room-code")) $("room-code").classList.add("hidden");
  }

  function fetchRoomCode(id) {
    clearTimeout(state.roomCodeTimer);
    clearInterval(state.roomCodeTick);
    HP.api("GET", "/api/lessons/" + id + "/room-code").then(function (r) {
      if (state.roomCodeLesson !== id || state.openLesson !== id) return;
      var box = $("room-code");
      if (!r.ok && r.status === 422) { box.classList.add("hidden"); return; }  // this class does not use codes
      box.classList.remove("hidden");
      if (!r.ok) {
        $("room-code-digits").textContent = "——";
        $("room-code-left").textContent = r.data.error.message;
        state.roomCodeTimer = setTimeout(function () { fetchRoomCode(id); }, 30000);
        return;
      }
      $("room-code-digits").textContent = r.data.code.slice(0, 3) + " " + r.data.code.slice(3);
      state.roomCode = r.data.code;  // sent with the teacher's 确认本人在场
      var changes = new Date(r.data.changes_at).getTime();
      function tick() {
        var left = Math.max(0, Math.ceil((changes - Date.now()) / 1000));
        $("room-code-left").textContent = left + " 秒后更换";
      }
      tick();
      state.roomCodeTick = setInterval(tick, 1000);
      // a little after the change, so the server's clock has moved on too
      state.roomCodeTimer = setTimeout(function () { fetchRoomCode(id); }, Math.max(1000, changes - Date.now() + 300));
    });
  }

  // --- the offline lesson's group photo (teacher, institution) -----------------------------------

  function uploadGroupPhoto(form) {
    var file = form.elements.photo.files[0];
    if (!file) { HP.showError(form, { message: "请先拍摄或选择一张集体照" }); return; }
    var data = new FormData();
    data.append("photo", file);
    return HP.api("POST", "/api/lessons/" + state.openLesson + "/group-photos", data).then(function (r) {
      if (!r.ok) { HP.showError(form, r.data.error); return; }
      var m = r.data.match || {};
      function names(ids) { return (ids || []).map(function (id) { return state.rollNames[String(id)] || ("学员 " + id); }).join("、") || "无"; }
      var unknown = (m.faces || []).filter(function (f) { return f.trainee === null || f.trainee === undefined; }).length;
      var out = $("group-photo-result");
      var compared = (m.present || []).concat(m.absent || []).map(String);
      var noFace = Object.keys(state.rollNames).filter(function (id) { return compared.indexOf(id) < 0; });
      out.textContent = "照片中识别出 " + (m.faces || []).length + " 张人脸。在场：" + names(m.present) +
        "；不在照片中：" + names(m.absent) + (noFace.length ? "；未登记人脸、无法比对：" + names(noFace) : "") +
        (unknown ? "；另有 " + unknown + " 张人脸不是本班已登记的学员" : "") + "。" +
        // The photo against the check-ins: each difference is also an alert for the class's watchers.
        ((r.data.cross_check || []).length ? "与签到不一致：" + r.data.cross_check.map(function (c) {
          return (c.trainee_name || "学员 " + c.trainee_id) + "（" + c.detail + "）"; }).join("、") + "。" : "");
      out.classList.remove("hidden");
      form.reset();
    });
  }

  // --- due and overdue duties (deadlines from the region's rules) ---------------------------------

  function loadDuties() {
    if (!page.duties) return;
    var url = "/api/duties?status=open" + (state.institution ? "&institution_id=" + encodeURIComponent(state.institution) : "");
    HP.api("GET", url).then(function (r) {
      var tbody = $("duties-table").tBodies[0];
      HP.clear(tbody);
      if (!r.ok) { HP.showError($("live-error"), r.data.error); return; }
      var due = r.data.filter(function (d) { return d.status === "due" || d.status === "overdue"; });
      if (!due.length) {
        tbody.appendChild(HP.el("tr", {}, HP.el("td", { colspan: 5, class: "muted", text: "没有到期或逾期的事项" })));
        return;
      }
      due.forEach(function (d) {
        tbody.appendChild(HP.el("tr", { class: "duty " + d.status, "data-duty": d.id },
          HP.el("td", { text: d.class_name }),
          HP.el("td", { class: "detail", text: d.detail }),
          HP.el("td", { class: "nowrap", text: d.due_on + (d.provisional ? "（暂估）" : "") }),
          HP.el("td", {}, HP.el("span", { class: "badge " + (d.status === "overdue" ? "rejected" : "pending_review"),
                                          text: d.status_zh + (d.days_left < 0 ? " " + (-d.days_left) + " 天" : "") })),
          HP.el("td", {}, HP.el("span", { class: "clause", text: HP.clauseText(d.clause) }))));
      });
    });
  }

  // --- held face enrolments (one face, one identity) ------------------------------------------------

  var HOLD_WHY = { duplicate: "与其他学员的人脸相似", changed_face: "与该学员原登记的人脸差异较大" };

  function photoStrip(side) {
    var strip = HP.el("div", { class: "photos" });
    (side.photos || []).forEach(function (url, i) {
      strip.appendChild(HP.el("img", { src: url, alt: "登记照片 " + (i + 1), loading: "lazy", width: 96 }));
    });
    if (!strip.childNodes.length) strip.appendChild(HP.el("span", { class: "muted", text: "（照片已删除）" }));
    return strip;
  }

  function person(p) {
    return p ? p.name + "（" + p.institution.name + "，学员编号 " + p.id + "）" : "";
  }

  function loadFaceHolds() {
    if (!page.face_holds) return;
    HP.api("GET", "/api/face-holds").then(function (r) {
      var box = $("face-holds");
      HP.clear(box);
      if (!r.ok) { HP.showError($("live-error"), r.data.error); return; }
      if (!r.data.length) { box.appendChild(HP.el("p", { class: "muted", text: "没有待复核的人脸登记" })); return; }
      r.data.forEach(function (h) {
        var sides = HP.el("div", { class: "hold-sides" },
          HP.el("div", {}, HP.el("strong", { text: "本次采集：" + person(h.trainee) }),
                HP.el("div", { class: "muted", text: HP.beijingText(h.created_at) + (h.reason ? "，原因：" + h.reason : "") }),
                photoStrip(h)));
        (h.matches || []).forEach(function (m) {
          sides.appendChild(m.visible
            ? HP.el("div", {}, HP.el("strong", { text: "相似：" + person(m.trainee) }),
                    HP.el("div", { class: "muted", text: "人脸距离 " + m.distance }), photoStrip(m))
            : HP.el("div", {}, HP.el("strong", { text: "相似：其他区县的学员（" + (m.district || "未知") + "）" }),
                    HP.el("div", { class: "muted", text: "人脸距离 " + m.distance + "，须由能看到双方的市级复核人员决定" })));
        });
        if (h.previous) {
          sides.appendChild(HP.el("div", {}, HP.el("strong", { text: "原登记人脸" }),
            HP.el("div", { class: "muted", text: "与本次采集的距离 " + h.previous.distance }), photoStrip(h.previous)));
        }
        var actions = decisionBox("div", "确认是本人，通过", "不通过", function (decision, reason) {
          return HP.api("POST", "/api/face-holds/" + h.template_id + "/decision", { decision: decision ? "approve" : "reject", reason: reason });
        }, loadFaceHolds, !h.decidable);
        box.appendChild(HP.el("article", { class: "hold", "data-template": h.template_id },
          HP.el("h3", { text: (h.reasons || [h.why]).map(function (w) { return HOLD_WHY[w] || w; }).join("；") }),
          sides, actions));
      });
    });
  }

  // --- venue fences awaiting the district's approval ------------------------------------------------

  function metres(x) { return x === null || x === undefined ? "—" : Math.round(x) + " 米"; }

  function fenceText(v) {
    if (v.fence_kind === "circle") return "圆形，半径 " + metres(v.radius_m) + "，中心 " + v.centre_lat + ", " + v.centre_lon;
    return "多边形，" + (v.polygon || []).length + " 个顶点";
  }

  function loadFences() {
    if (!page.fences) return;
    HP.api("GET", "/api/venue-fences/pending").then(function (r) {
      var box = $("fences");
      HP.clear(box);
      if (!r.ok) { HP.showError($("live-error"), r.data.error); return; }
      if (!r.data.length) { box.appendChild(HP.el("p", { class: "muted", text: "没有待审核的场地围栏" })); return; }
      r.data.forEach(function (f) {
        var v = f.venue, m = f.measures || {};
        var facts = HP.el("dl", { class: "pairs" },
          HP.el("dt", { text: "场地" }), HP.el("dd", { text: v.name + "（" + v.address + "）" }),
          HP.el("dt", { text: "申报面积" }), HP.el("dd", { text: v.area_m2 ? v.area_m2 + " 平方米" : "未填写" }),
          HP.el("dt", { text: "围栏" }), HP.el("dd", { text: fenceText(v) + "（" + (v.datum || "").toUpperCase() + "，第 " + v.fence_version + " 版）" }),
          HP.el("dt", { text: "最远距中心" }), HP.el("dd", { text: metres(m.fence_extent_m) + (m.allowed_extent_m !== undefined
            ? "，按申报面积最多 " + metres(m.allowed_extent_m) + "（含 " + metres(m.margin_m) + " 定位误差余量）" : "") }));
        var verdict = f.plausible
          ? HP.el("p", { class: "ok", text: "围栏与申报面积相符，可以通过" })
          : HP.el("ul", { class: "reasons" }, (f.reasons || []).map(function (x) {
              return HP.el("li", {}, x.detail + " ", HP.el("span", { class: "clause", text: HP.clauseText(x.clause) }));
            }));
        var actions = decisionBox("div", "围栏与场地相符，通过", "驳回", function (approved, reason) {
          return HP.api("POST", "/api/venues/" + v.id + "/fence-decision", { decision: approved ? "approve" : "reject", reason: reason });
        }, loadFences);
        if (!f.plausible) actions.querySelector("button:not(.danger)").disabled = true;  // the server refuses it too
        box.appendChild(HP.el("article", { class: "hold", "data-venue": v.id },
          HP.el("h3", { text: f.institution.name + " · " + v.name }), facts, HPMap.fenceMap(f), verdict, actions));
      });
    });
  }

  // --- the socket ----------------------------------------------------------------------------------

  function connect() {
    if (typeof io !== "function") { status("实时推送不可用（脚本未加载），每分钟自动刷新", false); return; }
    // WebSocket first: several server processes need no sticky sessions for it; long-polling
    // remains the fallback where a proxy blocks WebSocket.
    var socket = io({ transports: ["websocket", "polling"] });
    state.socket = socket;
    socket.on("connect", function () { status("● 实时", true); refresh(); });
    socket.on("disconnect", function () { status("连接已断开，正在重连…（重连后自动补齐期间的记录）", false); });
    socket.on("connect_error", function () { status("无法连接实时推送，正在重试…", false); });
    socket.on("event", onEvent);
    socket.on("presence", onPresence);
    socket.on("cross_check", function (m) {
      (m.items || []).forEach(function (c) { crossCheckAlert(Object.assign({ lesson_id: m.lesson_id, class_name: m.class_name,
                                                                             group_photo_id: m.group_photo_id, at: m.at }, c)); });
    });
    socket.on("spot_checks_issued", function (m) {
      refreshSoon();
      if (state.openLesson === m.lesson_id) rollSoon();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    HP.api("GET", "/api/institutions").then(function (r) {
      if (!r.ok) return;
      var select = $("institution-filter");
      (r.data.items || r.data).forEach(function (i) { select.appendChild(HP.el("option", { value: i.id, text: i.name })); });
    });
    $("institution-filter").addEventListener("change", function (e) {
      state.institution = e.target.value;
      state.cursor = null;
      refresh();
      loadDuties();
    });
    $("live-filter").addEventListener("submit", function (e) { e.preventDefault(); });
    $("roll-close").addEventListener("click", function () { state.openLesson = null; hideRoomCode(); $("roll-card").classList.add("hidden"); });
    if ($("room-code-full")) {
      $("room-code-full").addEventListener("click", function () {
        var box = $("room-code");
        if (box.requestFullscreen) box.requestFullscreen();
      });
    }
    if ($("spot-check-all")) $("spot-check-all").addEventListener("click", spotCheckAll);
    if ($("group-photo")) HP.onSubmit($("group-photo"), uploadGroupPhoto);
    refresh().then(connect);
    loadDuties();
    loadFaceHolds();
    loadFences();
    // Spot checks that pass their time unanswered are not events, nor are deadlines: look for
    // them every minute.
    setInterval(function () { refresh(); loadDuties(); }, 60000);
  });
})();
