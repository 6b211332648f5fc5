/* The trainee's phone app: log in / activate, today's lessons, 签到 / 签退, the result, 我的学时.

   Plain ES5-style script (older WeChat and Android WebViews), no framework, nothing from another
   origin. Every view is drawn from the JSON API with textContent only (names from the API are
   never parsed as HTML). The server decides everything; the page never shows success before the
   server has answered that it recorded the event. */
"use strict";

(function () {
  var DEVICE_KEY = "hourproof.device_id";
  //: The burst: a frame every INTERVAL_MS from the first frame until TAIL_MS after the last prompt
  //: (the challenge says when each prompt shows), downscaled so the longer side is at most
  //: MAX_SIDE px, sent as JPEG with its capture time. The server wants 5-30 frames.
  var BURST = { intervalMs: 250, tailMs: 1500, maxFrames: 30, maxSide: 640, quality: 0.85 };
  //: Sending: the same request (same idempotency key) up to this many times; a retry of a
  //: request the server did record is answered with the first answer, so nothing counts twice.
  var SEND = { attempts: 4, backoffMs: [1000, 2000, 4000], timeoutMs: 45000 };
  var TZ = "Asia/Shanghai";
  //: Online lessons: a heartbeat every 30 s and whenever the page is shown or hidden; spot checks
  //: pushed over Socket.IO the moment they are issued, and asked for every 10 s as well (every
  //: 30 s while the push connection is up) in case a push is lost. Offline lessons (once checked
  //: in) get spot checks the same way, without heartbeats: the venue check is the location.
  //: With the lesson video playing in the page, a heartbeat every 15 s (and on play, pause, seek
  //: and end) carries the player's position: the server credits content watched between two.
  var ONLINE = { heartbeatMs: 30000, videoHeartbeatMs: 15000, pollMs: 10000, pollPushedMs: 30000, backAfterMs: [3000, 8000] };
  var CLASS_NOTE = {
    online: "上课期间请保持本页面打开并停留在前台；切到其他应用或锁屏的时间可能不计入学时。老师或系统会随机发起人脸抽查，须在 60 秒内完成。",
    offline: "上课期间请保持本页面打开。系统会随机发起抽查（人脸 + 定位，须在培训场地内），须在 60 秒内完成；未完成的，上次核验至下次核验之间的时间不计入学时。",
  };

  var LABELS = {
    mode: { offline: "线下", online: "线上" },
    content: { theory: "理论", practice: "实操" },
    state: { not_open: "未开放", open: "可签到", in_progress: "上课中", check_out_only: "已下课，可签退", closed: "已结束" },
    kind: { check_in: "签到", check_out: "签退", spot_check: "随机抽查" },
  };
  //: What to do next, by the API's reason codes (the reason itself says what was wrong).
  var NEXT = {
    too_inaccurate: "请到室外或窗边，并为本浏览器开启「精确位置」（iPhone：设置 → 隐私与安全性 → 定位服务；安卓：定位 → 使用精确位置），然后重新签到。",
    fence_uncertain: "请走到培训场地内部（离开场地边缘），或到室外空旷处，再重新签到。",
    outside_fence: "请到培训场地内再签到。如果您确实在场地内，请联系培训机构核对场地位置。",
    no_location: "请允许本页面获取位置，并打开手机的定位服务后重新签到。",
    accuracy_invalid: "定位数据异常，请关闭模拟定位类软件后重新签到。",
    accuracy_implausible: "请关闭模拟定位类软件，用手机自带定位重新签到。",
    datum_not_accepted: "请直接在手机浏览器中打开本签到页面（不要使用改定位或代签类软件），允许获取位置后重新签到。",
    fix_stale: "请点“重试”重新获取当前位置后签到；如手机时间不准，请在设置中把日期和时间设为“自动设置”。",
    fix_in_future: "请在手机设置中把日期和时间设为“自动设置”，再重新签到。",
    fix_time_missing: "请刷新本页面（或更新浏览器）后重新签到。",
    fence_not_approved: "本次记录已留存，待人工复核后计入学时；请提醒培训机构提交场地围栏审核。",
    device_mismatch: "请使用登录时绑定的手机签到。换了手机请联系培训机构为您解绑。",
    identity_not_confirmed: "请在光线充足处、正对摄像头、摘下口罩和帽子后重新签到。如多次失败，请联系培训机构。",
    motion_not_seen: "请按提示缓慢转头：先转到位，再转回正面。请重新签到。",
    unexpected_motion: "请只做提示的动作，其他时间保持正脸不动。请重新签到。",
    face_missing_in_frames: "请让整张脸一直留在画面中，光线充足，再重新签到。",
    identity_changed_in_burst: "请本人独自完成全部动作，画面中不要出现其他人，再重新签到。",
    face_closer_to_other: "请用自己的账号、自己的手机签到。如果这是您本人的账号，请联系培训机构核对登记的人脸。",
    face_attempts_exhausted: "本节课不能再自助签到：请找授课老师当面核验身份，老师核验后计入学时。",
    multiple_faces: "请确保画面中只有您一个人，再重新签到。",
    frames_identical: "拍到的画面几乎不动，请直接用手机前置摄像头拍摄本人，再重新签到。",
    nonce_expired: "动作验证已超时，请重新签到。",
    nonce_reused: "请重新签到。",
    too_early: "签到尚未开放，请在课前 30 分钟内再来。",
    no_face_template: "请联系培训机构为您采集人脸。",
    no_consent: "请联系培训机构办理人脸信息处理同意。",
    face_template_held: "您的人脸登记正在等待人社复核：复核通过前请找授课老师当面核验。",
  };

  var state = { csrf: meta("csrf-token"), user: null, home: null, attempt: null, stream: null, online: null, beat: null };

  // --- small helpers --------------------------------------------------------------------------

  function meta(name) { var m = document.querySelector('meta[name="' + name + '"]'); return m ? m.content : ""; }
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); return n; }
  function label(kind, v) { return (LABELS[kind] || {})[v] || String(v); }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function hhmm(iso) {
    try {
      return new Date(iso).toLocaleTimeString("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
    } catch (e) { return iso.slice(11, 16); }
  }
  function dateText(iso) {
    try {
      return new Date(iso).toLocaleDateString("zh-CN", { timeZone: TZ, month: "long", day: "numeric", weekday: "short" });
    } catch (e) { return iso.slice(5, 10); }
  }
  function dayText(isoDate) {
    var d = new Date(isoDate + "T12:00:00+08:00");
    var wk = "日一二三四五六".charAt(d.getUTCDay());
    return isoDate.slice(0, 4) + "年" + Number(isoDate.slice(5, 7)) + "月" + Number(isoDate.slice(8, 10)) + "日 星期" + wk;
  }
  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  /* The phone's id: made once, kept in localStorage; the server binds it to the account at the
     first log-in and refuses check-ins from another one. */
  function deviceId() {
    var id = null;
    try { id = window.localStorage.getItem(DEVICE_KEY); } catch (e) { id = null; }
    if (!id || !/^[A-Za-z0-9_\-]{8,128}$/.test(id)) {
      id = "web-" + randomHex(16);
      try { window.localStorage.setItem(DEVICE_KEY, id); } catch (e) { /* private mode: this session only */ }
    }
    return id;
  }

  function browser() {
    var ua = navigator.userAgent || "";
    if (/MicroMessenger/i.test(ua)) return "wechat";
    if (/iPhone|iPad|iPod/i.test(ua)) return "ios";
    if (/Android/i.test(ua)) return "android";
    return "other";
  }

  // --- the API --------------------------------------------------------------------------------

  /* api(method, url, body) -> {ok, status, data}; status 0 means the request never got an
     answer (network down, timeout). body: an object (JSON) or FormData (multipart). */
  function api(method, url, body, timeoutMs) {
    var init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      if (state.csrf) init.headers["X-CSRF-Token"] = state.csrf;
      if (body instanceof FormData) init.body = body;
      else if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    }
    var timer = null;
    if (timeoutMs && window.AbortController) {
      var ctl = new AbortController();
      init.signal = ctl.signal;
      timer = setTimeout(function () { ctl.abort(); }, timeoutMs);
    }
    return fetch(url, init).then(function (resp) {
      return resp.text().then(function (text) {
        if (timer) clearTimeout(timer);
        var data = null;
        try { data = text ? JSON.parse(text) : {}; } catch (e) { data = null; }
        if (!data || (!resp.ok && !data.error)) {
          data = { error: { code: "http_" + resp.status, message: "服务器暂时无法处理（HTTP " + resp.status + "）" } };
        }
        if (resp.status === 401 && url.indexOf("/api/auth/") !== 0) { state.user = null; go("#/login"); }
        return { ok: resp.ok, status: resp.status, data: data };
      });
    }, function () {
      if (timer) clearTimeout(timer);
      return { ok: false, status: 0, data: { error: { code: "network", message: "网络连接失败，请求没有送达服务器" } } };
    });
  }
  function errorText(r) { return (r.data && r.data.error && r.data.error.message) || "请求失败，请稍后重试"; }

  // --- views and routing ----------------------------------------------------------------------

  function show(view, title, back) {
    $("boot").hidden = true;
    Array.prototype.forEach.call(document.querySelectorAll("section[data-view]"), function (s) {
      s.hidden = s.getAttribute("data-view") !== view;
    });
    $("title").textContent = title;
    $("back").classList.toggle("hidden", !back);
    $("logout").classList.toggle("hidden", !(state.user && view === "home"));
    document.body.setAttribute("data-screen", view);
    window.scrollTo(0, 0);
  }
  function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

  function route() {
    stopCamera();
    var h = location.hash.replace(/^#/, "") || "/";
    var parts = h.split("/").filter(Boolean);
    // Answering a spot check of the online lesson (and coming back) keeps its heartbeats going:
    // the trainee has not left the lesson.
    var b = state.beat;
    var keep = !!b && Number(parts[1]) === b.lessonId &&
      (parts[0] === "online" || (parts[0] === "checkin" && parts[2] === "spot_check"));
    leaveOnline(keep);
    state.attempt = null;  // leaving a check-in cancels it (a request already sent still counts if the server took it)
    if (parts[0] === "activate") return showActivate();
    if (parts[0] === "login") return showLogin();
    if (parts[0] === "help") return showHelp(parts[1], parts[2], parts[3]);
    return whoAmI().then(function (user) {
      if (!user) return showLogin();
      if (parts[0] === "checkin") {
        var kind = ["check_in", "check_out", "spot_check"].indexOf(parts[2]) >= 0 ? parts[2] : "check_in";
        return showCheckin(Number(parts[1]), kind, kind === "spot_check" ? Number(parts[3]) : null);
      }
      if (parts[0] === "online") return showOnline(Number(parts[1]), false);
      if (parts[0] === "class") return showOnline(Number(parts[1]), true);
      if (parts[0] === "hours") return showHours(Number(parts[1]));
      if (parts[0] === "privacy") return showPrivacy();
      if (parts[0] === "result") return go("#/");  // a result is shown once, not from history
      return showHome();
    });
  }

  function whoAmI() {
    if (state.user) return Promise.resolve(state.user);
    return api("GET", "/api/auth/me").then(function (r) {
      if (r.ok && r.data.user && r.data.user.role === "trainee") {
        state.user = r.data.user;
        state.csrf = r.data.csrf_token || state.csrf;
        return state.user;
      }
      return null;
    });
  }

  // --- log in / activate ----------------------------------------------------------------------

  function showLogin() { show("login", "学员登录", false); }
  function showActivate() {
    // The account name typed on the log-in form comes along (a first log-in often starts there).
    var typed = $("login-form").username.value.trim(), act = $("activate-form");
    if (typed && !act.username.value) act.username.value = typed;
    show("activate", "首次登录激活", true);
  }

  function signedIn(r, form) {
    if (!r.ok) { form.querySelector(".form-error").textContent = errorText(r); return; }
    if (r.data.user.role !== "trainee") {
      form.querySelector(".form-error").textContent = "本页面供学员签到使用；工作人员请在电脑上打开机构管理页面。";
      return;
    }
    state.user = r.data.user;
    state.csrf = r.data.csrf_token;
    // What the institution did to the account since the last log-in (told once by the server).
    state.notices = r.data.notices || [];
    go("#/");
  }

  function showNotices() {
    var box = clear($("account-notices"));
    (state.notices || []).forEach(function (n) {
      var card = el("div", "card warn notice");
      card.setAttribute("role", "status");
      card.appendChild(el("h2", "", n.kind === "code_reissued" ? "账号已重新激活" : "手机绑定已解除"));
      card.appendChild(el("p", "", n.message));
      card.appendChild(el("p", "muted", "如果这不是您本人申请的，请立即联系培训机构。"));
      var ok = el("button", "", "知道了");
      ok.addEventListener("click", function () {
        state.notices = state.notices.filter(function (x) { return x !== n; });
        showNotices();
      });
      card.appendChild(ok);
      box.appendChild(card);
    });
  }

  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target, err = f.querySelector(".form-error");
    err.textContent = "";
    if (!f.username.value.trim() || !f.password.value) { err.textContent = "请输入用户名和密码"; return; }
    var button = f.querySelector("button");
    button.disabled = true;
    api("POST", "/api/auth/login", { username: f.username.value.trim(), password: f.password.value, device_id: deviceId() })
      .then(function (r) { button.disabled = false; signedIn(r, f); });
  });

  $("activate-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target, err = f.querySelector(".form-error");
    err.textContent = "";
    if (!/^\d{8}$/.test(f.activation_code.value.trim())) { err.textContent = "激活码是 8 位数字"; return; }
    if (f.new_password.value.length < 8) { err.textContent = "密码至少 8 位"; return; }
    if (f.new_password.value !== f.confirm.value) { err.textContent = "两次输入的密码不一致"; return; }
    var button = f.querySelector("button");
    button.disabled = true;
    api("POST", "/api/auth/activate", { username: f.username.value.trim(), activation_code: f.activation_code.value.trim(),
                                        new_password: f.new_password.value, device_id: deviceId() })
      .then(function (r) { button.disabled = false; signedIn(r, f); });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/auth/logout", {}).then(function () { state.user = null; go("#/login"); });
  });
  $("back").addEventListener("click", function () { go("#/"); });

  // --- today's lessons ------------------------------------------------------------------------

  function showHome() {
    show("home", "今日课程", false);
    $("hello").textContent = state.user.display_name + "，您好";
    showNotices();
    var list = clear($("lessons"));
    list.appendChild(el("p", "loading", "正在加载课程…"));
    return api("GET", "/api/me/lessons").then(function (r) {
      clear(list);
      if (!r.ok) {
        list.appendChild(el("p", "form-error", errorText(r)));
        var again = el("button", "", "重新加载");
        again.addEventListener("click", showHome);
        list.appendChild(again);
        return;
      }
      state.home = r.data;
      $("day").textContent = dayText(r.data.date);
      if (!r.data.lessons.length) list.appendChild(el("p", "card empty", "今天没有课程安排。"));
      r.data.lessons.forEach(function (l) { list.appendChild(lessonCard(l)); });
      // In an offline lesson, a spot check pushed while this list is open takes the trainee to it.
      if (r.data.lessons.some(inOfflineClass)) listenForSpotChecks();
      var links = clear($("enrollments"));
      r.data.enrollments.forEach(function (e) {
        var li = el("li"), a = el("a", "", e.class_name + " · 查看学时台账 ›");
        a.href = "#/hours/" + e.enrollment_id;
        li.appendChild(a);
        links.appendChild(li);
      });
    });
  }

  function eventLine(prefix, e) {
    if (!e) return null;
    var words = { verified: "已核验", flagged: "待人工复核", rejected: "未通过，不计入学时" };
    if (e.review) {  // a person decided a flagged event
      var ok = e.review.decision === "approved";
      return el("p", "done " + (ok ? "verified" : "rejected"),
                prefix + " " + hhmm(e.at) + "：" + (ok ? "复核通过" : "复核未通过，不计入学时") + (e.review.reason ? "（" + e.review.reason + "）" : ""));
    }
    return el("p", "done " + e.verdict, prefix + " " + hhmm(e.at) + "：" + (words[e.verdict] || e.verdict));
  }

  function lessonCard(l) {
    var card = el("div", "card lesson");
    card.setAttribute("data-lesson-id", l.lesson_id);
    card.appendChild(el("div", "time", hhmm(l.starts_at) + "–" + hhmm(l.ends_at)));
    card.appendChild(el("div", "name", (l.title ? l.title + " · " : "") + l.class_name));
    var tags = el("div");
    tags.appendChild(el("span", "badge", label("mode", l.mode)));
    tags.appendChild(el("span", "badge", label("content", l.content)));
    tags.appendChild(el("span", "badge state-" + l.state, label("state", l.state)));
    card.appendChild(tags);
    if (l.venue) card.appendChild(el("div", "where", "场地：" + l.venue.name + (l.venue.address ? "（" + l.venue.address + "）" : "")));
    else if (l.mode === "online") card.appendChild(el("div", "where", "线上课程：上课期间请保持本页面打开"));
    [eventLine("签到", l.check_in), eventLine("签退", l.check_out)].forEach(function (n) { if (n) card.appendChild(n); });
    var buttons = el("div", "buttons");
    var checkedIn = l.check_in && l.check_in.verdict !== "rejected" && !(l.check_in.review && l.check_in.review.decision === "rejected");
    if ((l.state === "open" || l.state === "in_progress") && !checkedIn) buttons.appendChild(actionButton(l, "check_in", true));
    if ((l.state === "in_progress" || l.state === "check_out_only") && checkedIn) {
      var out = l.check_out && l.check_out.verdict !== "rejected" && !(l.check_out.review && l.check_out.review.decision === "rejected");
      if (!out) buttons.appendChild(actionButton(l, "check_out", true));
    }
    if (l.mode === "online" && checkedIn && (l.state === "open" || l.state === "in_progress")) {
      var enter = el("button", "primary", "进入线上课堂");
      enter.setAttribute("data-action", "online");
      enter.addEventListener("click", function () { go("#/online/" + l.lesson_id); });
      buttons.insertBefore(enter, buttons.firstChild);
    }
    if (inOfflineClass(l)) {
      var stay = el("button", "", "进入课堂（接收随机抽查）");
      stay.setAttribute("data-action", "class");
      stay.addEventListener("click", function () { go("#/class/" + l.lesson_id); });
      buttons.insertBefore(stay, buttons.firstChild);
    }
    if (l.state === "not_open") card.appendChild(el("p", "muted small", "签到将于 " + hhmm(l.check_in_opens_at) + " 开放"));
    if (l.state === "check_out_only") card.appendChild(el("p", "muted small", "签退截止 " + hhmm(l.check_out_closes_at)));
    if (buttons.firstChild) card.appendChild(buttons);
    return card;
  }

  /* An offline lesson in progress that the trainee has checked in to and not out of: spot checks
     may come (the server asks only trainees present; this only decides what the page offers). */
  function inOfflineClass(l) {
    var counted = function (e) { return e && e.verdict !== "rejected" && !(e.review && e.review.decision === "rejected"); };
    return l.mode === "offline" && l.state === "in_progress" && counted(l.check_in) && !counted(l.check_out);
  }

  function actionButton(l, kind, primary) {
    var b = el("button", primary ? "primary" : "", label("kind", kind));
    b.setAttribute("data-action", kind);
    b.addEventListener("click", function () { go("#/checkin/" + l.lesson_id + "/" + kind); });
    return b;
  }

  function findLesson(id) {
    var found = state.home && state.home.lessons.filter(function (l) { return l.lesson_id === id; })[0];
    if (found) return Promise.resolve(found);
    return api("GET", "/api/me/lessons").then(function (r) {
      if (r.ok) state.home = r.data;
      return r.ok ? r.data.lessons.filter(function (l) { return l.lesson_id === id; })[0] : null;
    });
  }

  // --- 签到 / 签退 -----------------------------------------------------------------------------

  function setStep(name) {
    var seen = false;
    Array.prototype.forEach.call(document.querySelectorAll("#ck-steps li"), function (li) {
      var me = li.getAttribute("data-step") === name;
      if (me) seen = true;
      li.className = me ? "active" : (seen ? "" : "done");
    });
  }
  function status(text, cls) { var s = $("ck-status"); s.textContent = text; s.className = "status " + (cls || ""); }

  function showCheckin(lessonId, kind, spotCheckId) {
    var attempt = { lessonId: lessonId, kind: kind, spotCheckId: spotCheckId || null, lesson: null, fix: null, challenge: null,
                    key: "k" + randomHex(12) };
    state.attempt = attempt;
    show("checkin", label("kind", kind), true);
    $("ck-ready").hidden = true;
    $("ck-camera").hidden = true;
    clear($("ck-lesson"));
    return findLesson(lessonId).then(function (lesson) {
      if (state.attempt !== attempt) return;
      if (!lesson) { status("找不到这个课次，请返回今日课程。", "rejected"); return; }
      attempt.lesson = lesson;
      var head = $("ck-lesson");
      head.appendChild(el("div", "time", hhmm(lesson.starts_at) + "–" + hhmm(lesson.ends_at) + " " + label("mode", lesson.mode)));
      head.appendChild(el("div", "", lesson.class_name));
      if (lesson.venue) head.appendChild(el("div", "muted small", "场地：" + lesson.venue.name));
      return locate(attempt);
    });
  }

  /* The location fix, WGS-84 as browsers report it (the server converts to the venue's datum).
     Online lessons are verified by face and presence, not place: no location asked. */
  function locate(attempt) {
    setStep("location");
    if (attempt.lesson.mode === "online") return ready(attempt);
    if (!navigator.geolocation) { go("#/help/location/" + attempt.lessonId + "/" + attempt.kind); return; }
    status("正在获取位置，请稍候…");
    return fixNow(20000).then(function (fix) {
      if (state.attempt !== attempt) return;
      if (fix.error) {
        if (fix.error.code === 1) { go("#/help/location/" + attempt.lessonId + "/" + attempt.kind); return; }
        status(fix.error.code === 3 ? "获取位置超时。请到室外或窗边，打开手机定位服务后重试。"
                                    : "无法获取位置。请打开手机定位服务（GPS）后重试。", "rejected");
        retryButton(attempt);
        return;
      }
      attempt.fix = fix;
      return ready(attempt);
    });
  }

  function fixNow(timeoutMs) {
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (pos) {
        // fix_at is the browser's own time of the fix (never made up here): the server refuses a
        // fix older than it allows, or one without a time.
        resolve({ lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy_m: pos.coords.accuracy, datum: "wgs84",
                  fix_at: pos.timestamp ? new Date(pos.timestamp).toISOString() : undefined });
      }, function (err) { resolve({ error: err }); }, { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 0 });
    });
  }

  function retryButton(attempt) {
    var b = el("button", "primary", "重试");
    b.addEventListener("click", function () { showCheckin(attempt.lessonId, attempt.kind, attempt.spotCheckId); });
    $("ck-status").appendChild(el("br"));
    $("ck-status").appendChild(b);
  }

  /* Ready to start: the challenge is asked for only when 开始 is tapped, because a challenge
     that is issued and never answered counts as a failed attempt (a client that asks until it
     likes one burns its attempts), and the server allows a few a minute. */
  function ready(attempt) {
      setStep("challenge");
      var fix = $("ck-fix");
      fix.className = "fix";
      if (attempt.fix) {
        var max = attempt.lesson.venue && attempt.lesson.venue.max_accuracy_m;
        fix.textContent = "已获取位置，定位精度约 " + Math.round(attempt.fix.accuracy_m) + " 米";
        if (max && attempt.fix.accuracy_m > max) {
          fix.textContent += "，超过场地要求的 " + Math.round(max) + " 米，可能无法通过。建议到室外或开启精确定位后再试。";
          fix.className = "fix poor";
        }
      } else fix.textContent = "";
      // 课堂码: the class requires the code the teacher's screen shows with each offline check-in.
      var needsCode = attempt.kind === "check_in" && !!attempt.lesson.room_code;
      $("ck-room-code-box").hidden = !needsCode;
      $("ck-room-code").value = "";
      $("ck-room-code-error").textContent = "";
      status("");
      $("ck-ready").hidden = false;
      $("ck-start").disabled = false;
      $("ck-start").textContent = "开始";
      if (attempt.lesson.mode !== "online") offerNonface(attempt);
  }

  /* 不同意人脸识别: a trainee with no face consent in force may refuse it (recorded with the date
     and this text) and check in without a face: location + room code from this phone, and the
     teacher confirms them in the room (人脸识别技术应用安全管理办法; services/nonface.py). */
  function offerNonface(attempt) {
    return api("GET", "/api/me/face-refusal").then(function (r) {
      if (!r.ok || state.attempt !== attempt || r.data.consent_in_force) return;
      var box = el("div", "card nonface");
      box.id = "ck-nonface";
      var old = $("ck-nonface");
      if (old) old.remove();
      if (r.data.refused) {
        attempt.nonface = true;
        // a room code is read in the room for every kind: the teacher checks it too
        $("ck-room-code-box").hidden = !attempt.lesson.room_code;
        $("ck-start").textContent = "提交，请老师确认本人在场";
        box.appendChild(el("p", "small", "您已选择不使用人脸识别（" + r.data.method_label + "）：提交后请到授课老师处，" +
                                         "老师在点名册上确认本人在场后记录。"));
      } else {
        box.appendChild(el("p", "small", r.data.text));
        var b = el("button", "", "不同意人脸识别，改用老师确认签到");
        b.id = "ck-refuse";
        b.addEventListener("click", function () {
          b.disabled = true;
          api("POST", "/api/me/face-refusal", { text_version: r.data.text_version }).then(function (res) {
            if (!res.ok) { b.disabled = false; status(errorText(res), "rejected"); return; }
            offerNonface(attempt);
          });
        });
        box.appendChild(b);
      }
      $("ck-ready").appendChild(box);
    });
  }

  function sendNonface(attempt) {
    status("正在提交…");
    var body = { kind: attempt.kind, idempotency_key: attempt.key, device: { device_id: deviceId(),
                 user_agent: (navigator.userAgent || "").slice(0, 500) }, location: attempt.fix };
    if (attempt.roomCode) body.room_code = attempt.roomCode;
    if (attempt.spotCheckId) body.spot_check_id = attempt.spotCheckId;
    return api("POST", "/api/lessons/" + attempt.lessonId + "/nonface-events", body, 20000).then(function (r) {
      if (state.attempt !== attempt) return;
      if (!r.ok) { status(errorText(r), "rejected"); retryButton(attempt); return; }
      status(r.data.message, r.data.verdict === "pending" ? "" : "rejected");
      if (r.data.verdict !== "pending") retryButton(attempt);
    });
  }

  function getChallenge(attempt) {
    setStep("challenge");
    status("正在领取动作验证…");
    var ask = { purpose: attempt.kind };
    if (attempt.spotCheckId) ask.spot_check_id = attempt.spotCheckId;
    return api("POST", "/api/lessons/" + attempt.lessonId + "/challenge", ask, 20000).then(function (r) {
      if (state.attempt !== attempt) return false;
      if (!r.ok) { status(errorText(r), "rejected"); retryButton(attempt); return false; }
      attempt.challenge = r.data;
      setStep("capture");
      status("");
      return true;
    });
  }

  $("ck-start").addEventListener("click", function () {
    var attempt = state.attempt;
    if (!attempt || attempt.challenge) return;
    if (!$("ck-room-code-box").hidden) {
      var code = $("ck-room-code").value.replace(/\s+/g, "");
      if (!/^[0-9]{6}$/.test(code)) {
        $("ck-room-code-error").textContent = "请输入教室屏幕上当前显示的 6 位数字课堂码";
        $("ck-room-code").focus();
        return;
      }
      $("ck-room-code-error").textContent = "";
      attempt.roomCode = code;
    }
    $("ck-start").disabled = true;
    if (attempt.nonface) { sendNonface(attempt); return; }
    getChallenge(attempt).then(function (ok) {
      if (!ok || state.attempt !== attempt) return;
      // A fresh fix, taken while the burst runs: where the trainee is now, not when the page opened.
      if (attempt.fix) attempt.freshFix = fixNow(10000);
      capture(attempt);
    });
  });

  function stopCamera() {
    if (state.stream) { state.stream.getTracks().forEach(function (t) { t.stop(); }); state.stream = null; }
    var v = $("ck-video");
    if (v) v.srcObject = null;
  }

  /* The camera is opened when the trainee taps 开始 and the burst starts with its first frame:
     each prompt shows at the time the challenge gives for it (random, so a recording cannot
     know when to turn), every frame keeps its capture time on the same clock, and the camera is
     closed as soon as the burst ends. */
  function capture(attempt) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      go("#/help/camera/" + attempt.lessonId + "/" + attempt.kind);
      return;
    }
    status("正在打开前置摄像头…");
    navigator.mediaDevices.getUserMedia({ audio: false, video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } } })
      .then(function (stream) {
        if (state.attempt !== attempt) { stream.getTracks().forEach(function (t) { t.stop(); }); return; }
        state.stream = stream;
        var track = stream.getVideoTracks()[0];
        attempt.cameraLabel = track ? track.label : null;
        var video = $("ck-video");
        video.srcObject = stream;
        $("ck-ready").hidden = true;
        $("ck-camera").hidden = false;
        status("");
        return firstFrame(video).then(function () { return burst(attempt, video); });
      }, function (err) {
        var name = err && err.name;
        if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
          go("#/help/camera/" + attempt.lessonId + "/" + attempt.kind);
        } else {
          status(name === "NotFoundError" || name === "OverconstrainedError" ? "没有找到可用的前置摄像头。"
                 : "无法打开摄像头（" + (name || "未知错误") + "）。请关闭其他正在使用摄像头的应用后重试。", "rejected");
          retryButton(attempt);
        }
      });
  }

  function firstFrame(video) {
    var p = video.play ? video.play() : null;
    return Promise.resolve(p).catch(function () { /* autoplay refused: frames still arrive when muted */ }).then(function () {
      return new Promise(function (resolve) {
        var done = false;
        function ready() { if (!done && video.videoWidth > 0) { done = true; resolve(); } }
        if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(ready);
        video.addEventListener("loadeddata", ready);
        video.addEventListener("playing", ready);
        var poll = setInterval(function () { ready(); if (done) clearInterval(poll); }, 30);
      });
    });
  }

  function burst(attempt, video) {
    var steps = attempt.challenge.instructions, at = attempt.challenge.prompts_ms || [];
    var canvas = $("ck-canvas"), prompt = $("ck-prompt");
    var scale = Math.min(1, BURST.maxSide / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    var ctx = canvas.getContext("2d");
    var last = at.length ? at[at.length - 1] : 0;
    var frames = Math.min(BURST.maxFrames, Math.ceil((last + BURST.tailMs) / BURST.intervalMs) + 1);
    var now = window.performance && performance.now ? function () { return performance.now(); } : Date.now;
    var blobs = [], t0 = now();
    attempt.frameTimes = [];
    function promptAt(ms) {
      var k = -1;
      for (var i = 0; i < at.length; i++) if (ms >= at[i]) k = i;
      return k < 0 ? "请正对摄像头" : steps[k];
    }
    // The prompt changes exactly when the challenge says, between frames.
    var timers = at.map(function (ms) {
      return setTimeout(function () { prompt.textContent = promptAt(now() - t0 + 1); }, ms);
    });
    return new Promise(function (resolve) {
      var n = 0;
      function shoot() {
        if (state.attempt !== attempt) return resolve(null);
        // The frame as the camera delivers it (not mirrored): the server judges left and right
        // from the trainee's own point of view on unmirrored frames.
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        attempt.frameTimes.push(Math.round((now() - t0) * 10) / 10);
        blobs.push(new Promise(function (res) { canvas.toBlob(res, "image/jpeg", BURST.quality); }));
        n += 1;
        $("ck-progress").style.width = Math.round(100 * n / frames) + "%";
        if (n >= frames) return resolve(Promise.all(blobs));
        setTimeout(shoot, Math.max(0, t0 + n * BURST.intervalMs - now()));
      }
      prompt.textContent = promptAt(0);
      shoot();
    }).then(function (frames) {
      timers.forEach(clearTimeout);
      stopCamera();
      if (!frames || state.attempt !== attempt) return;
      $("ck-camera").hidden = true;
      var kept = [], times = [];
      frames.forEach(function (b, i) { if (b) { kept.push(b); times.push(attempt.frameTimes[i]); } });
      attempt.frameTimes = times;  // each kept frame keeps its own capture time
      return send(attempt, kept);
    });
  }

  function form(attempt, frames) {
    var metaDoc = {
      kind: attempt.kind, nonce: attempt.challenge.nonce, idempotency_key: attempt.key,
      device: { device_id: deviceId(), camera_label: attempt.cameraLabel || null, user_agent: (navigator.userAgent || "").slice(0, 500) },
    };
    if (attempt.fix) metaDoc.location = attempt.fix;
    if (attempt.spotCheckId) metaDoc.spot_check_id = attempt.spotCheckId;
    if (attempt.roomCode) metaDoc.room_code = attempt.roomCode;
    metaDoc.frame_times = attempt.frameTimes;
    var fd = new FormData();
    fd.append("meta", JSON.stringify(metaDoc));
    frames.forEach(function (b, i) { fd.append("frames", b, "f" + (i < 10 ? "0" : "") + i + ".jpg"); });
    return fd;
  }

  /* Sends the burst; on no answer or a server error, sends the very same request again (same
     idempotency key). Only the server's answer shows a result; if none came, the page says the
     check-in was not recorded. */
  function send(attempt, frames) {
    setStep("send");
    if (attempt.freshFix) {
      var fresh = attempt.freshFix;
      attempt.freshFix = null;
      status("正在确认位置…");
      return Promise.race([fresh, sleep(4000)]).then(function (fix) {
        if (fix && !fix.error) attempt.fix = fix;
        return send(attempt, frames);
      });
    }
    attempt.frames = frames;
    var body = form(attempt, frames), tries = 0;
    function once() {
      tries += 1;
      status(tries === 1 ? "正在提交并核验，请稍候…" : "网络不稳定，正在重新提交（第 " + tries + " 次）…");
      return api("POST", "/api/lessons/" + attempt.lessonId + "/events", body, SEND.timeoutMs).then(function (r) {
        if (state.attempt !== attempt) return;
        var transient = r.status === 0 || r.status === 408 || r.status === 429 || r.status >= 500;
        if (transient && tries < SEND.attempts) return sleep(SEND.backoffMs[tries - 1] || 4000).then(once);
        if (r.ok) return showResult(attempt, r.data);
        return showUnsent(attempt, r, transient);
      });
    }
    return once();
  }

  function resultView(cls, verdict, message) {
    show("result", label("kind", state.attempt ? state.attempt.kind : "check_in") + "结果", true);
    $("result-box").className = "result " + cls;
    $("result-verdict").textContent = verdict;
    $("result-message").textContent = message;
    $("result-distance").hidden = true;
    clear($("result-reasons"));
    $("result-next").hidden = true;
    $("result-meta").textContent = "";
    $("result-back-note").hidden = true;
    var where = clear($("result-lesson")), l = state.attempt && state.attempt.lesson;
    where.hidden = !l;
    if (l) {
      where.appendChild(el("div", "time", hhmm(l.starts_at) + "–" + hhmm(l.ends_at) + " " + label("mode", l.mode) + " · " + l.class_name));
      if (l.venue) where.appendChild(el("div", "muted small", "场地：" + l.venue.name));
      var fix = state.attempt.fix;
      if (fix) where.appendChild(el("div", "muted small", "本次定位精度约 " + Math.round(fix.accuracy_m) + " 米（WGS-84）"));
    }
    $("result-resend").hidden = true;
    $("result-retry").hidden = true;
    var old = $("result-classroom");
    if (old) old.parentNode.removeChild(old);
  }

  function showResult(attempt, a) {
    var kindText = label("kind", a.kind);
    if (a.verdict === "verified") resultView("verified", a.kind === "spot_check" ? "抽查已通过" : kindText + "成功", "已核验 · 服务器时间 " + hhmm(a.at));
    else if (a.verdict === "flagged") resultView("flagged", "已提交，等待复核", "需人工复核，复核通过后才计入学时");
    else resultView("rejected", "未通过核验", "本次" + kindText + "不计入学时");
    var d = a.distance_to_venue_m;
    if (a.verdict !== "verified" && typeof d === "number" && d > 0) {
      var box = $("result-distance");
      clear(box);
      box.appendChild(document.createTextNode("您距离培训场地约 "));
      // Rounded like the server's sentence (10 m steps), so the two figures on the page agree.
      box.appendChild(el("strong", "", d < 10 ? Math.max(1, Math.round(d)) + " 米"
                        : d < 995 ? Math.round(d / 10) * 10 + " 米" : (d / 1000).toFixed(1) + " 公里"));
      box.hidden = false;
    }
    var next = [];
    (a.reasons || []).forEach(function (r) {
      var li = el("li", r.code === "late" ? "note" : (a.verdict === "flagged" ? "warn" : ""));
      li.setAttribute("data-code", r.code);
      li.appendChild(el("div", "", r.detail));
      if (r.clause) li.appendChild(el("span", "clause", "依据：" + clauseText(r.clause)));
      $("result-reasons").appendChild(li);
      if (NEXT[r.code] && next.indexOf(NEXT[r.code]) < 0) next.push(NEXT[r.code]);
    });
    if (a.verdict === "flagged") next.push("无需重复签到：培训机构或监管人员复核后，结果会显示在今日课程中。");
    if (next.length) {
      var box2 = clear($("result-next"));
      box2.appendChild(el("h3", "", "接下来怎么做"));
      next.forEach(function (t) { box2.appendChild(el("p", "", t)); });
      box2.hidden = false;
    }
    $("result-meta").textContent = "记录编号 " + a.event_id + " · 服务器时间 " + hhmm(a.at) +
      (typeof a.face_distance === "number" ? " · 人脸比对距离 " + a.face_distance.toFixed(3) + "（阈值 " + a.face_threshold + "）" : "");
    if (a.verdict === "rejected" && a.kind !== "spot_check") $("result-retry").hidden = false;
    if (attempt.lesson && attempt.lesson.mode === "online") {
      backToClassroom(attempt.lessonId, false);
      if (attempt.kind === "spot_check") {
        var b = state.beat;
        if (b && b.video && a.verdict === "verified") b.checkpoint = b.video.currentTime;
        returnToClassroom(attempt, a.verdict === "verified");
      }
    }
    else if (attempt.lesson && attempt.kind === "spot_check") backToClassroom(attempt.lessonId, true);  // offline: more may come
    if (state.home) state.home = null;  // the lesson list is stale now
  }

  /* After a spot check's result the page goes back to the lesson by itself (the video resumes
     there): sooner when it passed, later when there is something to read. */
  function returnToClassroom(attempt, passed) {
    var hash = location.hash, wait = ONLINE.backAfterMs[passed ? 0 : 1];
    $("result-back-note").textContent = Math.round(wait / 1000) + " 秒后自动返回线上课堂";
    $("result-back-note").hidden = false;
    setTimeout(function () {
      if (location.hash === hash && state.attempt === attempt) go("#/online/" + attempt.lessonId);
    }, wait);
  }

  function backToClassroom(lessonId, offline) {
    var actions = document.querySelector("[data-view=result] .actions"), old = $("result-classroom");
    if (old) old.parentNode.removeChild(old);
    var a = el("a", "button", offline ? "返回线下课堂" : "返回线上课堂");
    a.id = "result-classroom";
    a.href = (offline ? "#/class/" : "#/online/") + lessonId;
    actions.insertBefore(a, actions.lastElementChild);
  }

  function showUnsent(attempt, r, transient) {
    resultView("unsent", "未能提交", transient ? "没有收到服务器的确认，本次" + label("kind", attempt.kind) + "未完成，不计入学时。"
                                         : "服务器没有接受本次" + label("kind", attempt.kind) + "，不计入学时。");
    var li = el("li", "");
    li.appendChild(el("div", "", transient ? "多次尝试后仍未收到服务器的确认：" + errorText(r) : errorText(r)));
    $("result-reasons").appendChild(li);
    var box = clear($("result-next"));
    box.appendChild(el("h3", "", "接下来怎么做"));
    box.appendChild(el("p", "", transient ? "请检查网络（切换 Wi-Fi / 移动数据）后点“重新发送”：如果服务器其实已经收到，会显示当时的结果，不会重复记录。如果提示验证已超时，请点“重新签到”。"
                                          : "请点“重新签到”再试一次。"));
    box.hidden = false;
    $("result-resend").hidden = !transient;
    $("result-retry").hidden = false;
  }

  $("result-resend").addEventListener("click", function () {
    var attempt = state.attempt;
    if (!attempt || !attempt.frames) return;
    show("checkin", label("kind", attempt.kind), true);
    send(attempt, attempt.frames);
  });
  $("result-retry").addEventListener("click", function () {
    var a = state.attempt;
    if (a) { state.attempt = null; go("#/checkin/" + a.lessonId + "/" + a.kind + "/" + randomHex(2)); }
  });

  // --- 线上课堂 -------------------------------------------------------------------------------

  /* While this view is open: heartbeats (online lessons: visible or hidden) and polling for spot
     checks (online and offline lessons). The server decides what counts; the page only reports
     and relays. */
  function showOnline(lessonId, offline) {
    show("online", offline ? "线下课堂" : "线上课堂", true);
    var on = { lessonId: lessonId, timers: [], spot: null, countdown: null, offline: !!offline };
    state.online = on;
    $("on-spot").hidden = true;
    $("on-missed").hidden = true;
    $("on-player-warn").hidden = true;
    $("on-status").textContent = offline ? "线下上课中：请保持本页面打开" : "正在连接…";
    $("on-status").className = offline ? "big-status ok" : "big-status";
    $("on-beat").textContent = "";
    $("on-note").textContent = CLASS_NOTE[offline ? "offline" : "online"];
    var head = clear($("on-lesson"));
    findLesson(lessonId).then(function (l) {
      if (!l || state.online !== on) return;
      on.lesson = l;
      head.appendChild(el("div", "time", hhmm(l.starts_at) + "–" + hhmm(l.ends_at) + " " + label("mode", l.mode) + " · " +
                                         label("content", l.content)));
      head.appendChild(el("div", "", l.class_name));
    });
    if (!offline) {
      if (!state.beat || state.beat.lessonId !== lessonId) startBeating(lessonId);
      else showPlayer(state.beat, true);
      beat(state.beat);
    } else {
      $("on-player").hidden = true;
    }
    poll(on);
    on.lastPoll = Date.now();
    on.timers.push(setInterval(function () {
      var pushed = state.socket && state.socket.connected;
      if (!pushed || Date.now() - on.lastPoll >= ONLINE.pollPushedMs) poll(on);
    }, ONLINE.pollMs));
    listenForSpotChecks();
  }

  /* Socket.IO, loaded only when an online lesson is opened (the check-in pages stay small). The
     push says "look now"; the pending list from the API stays the one source of truth. */
  function listenForSpotChecks() {
    if (state.socket) return;
    var script = document.createElement("script");
    script.src = "/vendor/socket.io.min.js";
    script.onload = function () {
      if (state.socket || typeof io !== "function") return;
      state.socket = io({ transports: ["websocket", "polling"] });
      state.socket.on("spot_check", function (m) {
        if (state.online && state.online.lessonId === m.lesson_id) poll(state.online);
        else if (!state.online && !state.attempt && document.body.getAttribute("data-screen") === "home") {
          // On the lesson list (an offline lesson): open its classroom view, which shows the prompt.
          var l = state.home && state.home.lessons.filter(function (x) { return x.lesson_id === m.lesson_id; })[0];
          if (l) go("#/" + (l.mode === "offline" ? "class" : "online") + "/" + m.lesson_id);
        }
      });
      state.socket.on("connect", function () {
        document.documentElement.setAttribute("data-push", "on");
        if (state.online) poll(state.online);
      });
      state.socket.on("disconnect", function () { document.documentElement.setAttribute("data-push", "off"); });
    };
    document.head.appendChild(script);
  }

  /* `keep`: the trainee is answering this online lesson's spot check (or is back from it): its
     heartbeats go on, with the video paused; everything else of the view stops. */
  function leaveOnline(keep) {
    var on = state.online;
    if (on) {
      on.timers.forEach(clearInterval);
      if (on.countdown) clearInterval(on.countdown);
      state.online = null;
    }
    var b = state.beat;
    $("on-quiz").hidden = true;
    if (b && !keep) {
      clearInterval(b.timer);
      if (b.hls) b.hls.destroy();
      if (b.video) { b.video.pause(); b.video.removeAttribute("src"); b.video.load(); }
      state.beat = null;
    } else if (b && b.video && !b.video.paused) {
      b.video.pause();  // the pause is reported: paused time is not credited
    }
  }

  function startBeating(lessonId) {
    var b = { lessonId: lessonId, timer: null, video: null, media: null, furthest: 0 };
    state.beat = b;
    b.timer = setInterval(function () { beat(b); }, ONLINE.heartbeatMs);
    api("GET", "/api/lessons/" + lessonId + "/media", undefined, 15000).then(function (r) {
      if (state.beat !== b) return;
      if (r.ok && r.data && r.data.src) { b.media = r.data; showPlayer(b, false); loadQuiz(b); }
      else $("on-player").hidden = true;
    });
  }

  /* The lesson video, played in the page: only forward up to the furthest point watched, only at
     1x. The page enforces this for the trainee's sake (nothing is lost by a stray tap); the
     server credits only content watched between heartbeats, whatever a modified page reports. */
  function showPlayer(b, resume) {
    var box = $("on-player"), v = $("on-video");
    if (!b.media) { box.hidden = true; return; }
    box.hidden = false;
    $("on-player-note").textContent = b.media.kind === "live" ? "直播课：请保持播放并停留在本页面。" :
      "录播课：按实际观看的内容计入学时（只计 1 倍速；不能跳过未看过的部分；重复观看不重复计入）。";
    if (b.video !== v) {
      b.video = v;
      var key = "hourproof.furthest." + b.lessonId;
      // The server's furthest point (from the heartbeats) or this phone's own, whichever is further.
      b.furthest = Math.max(Number(localStorage.getItem(key)) || 0, b.media.furthest_s || 0);
      b.checkpoint = b.furthest;  // where the last verified check found the trainee
      attachSource(b, v);
      v.playbackRate = 1;
      var report = function () { beat(b); };
      // "playing" too: after a seek or a stall the video starts some time after "play" (reported as
      // buffering), and without a report when it really plays, that stretch would not be credited.
      v.onpause = v.onended = v.onplaying = report;
      v.onplay = function () { report(); checkQuiz(b); };
      v.ontimeupdate = function () {
        checkQuiz(b);
        if (!v.seeking && v.playbackRate === 1 && v.currentTime <= b.furthest + 2 && v.currentTime > b.furthest) {
          b.furthest = v.currentTime;
          try { localStorage.setItem(key, String(Math.floor(b.furthest))); } catch (e) { /* private mode */ }
        }
        if (b.media.kind === "live") {
          var lag = liveLag(v);
          $("on-progress").textContent = "直播中" + (lag === null ? "" : lag > 60 ? "：落后直播 " + Math.round(lag) + " 秒，请回到最新进度" : "");
          return;
        }
        var total = isFinite(v.duration) && v.duration > 0 ? v.duration : b.media.duration_s;
        $("on-progress").textContent = "已观看至 " + clock(b.furthest) + (total ? " / " + clock(total) : "");
      };
      v.onseeking = function () {
        if (b.media.kind === "recorded" && v.currentTime > b.furthest + 1) {
          v.currentTime = b.furthest;
          $("on-player-warn").textContent = "不能跳过未观看的内容：已回到您看到的位置（" + clock(b.furthest) + "）。";
          $("on-player-warn").hidden = false;
        }
      };
      v.onseeked = report;
      v.onratechange = function () {
        if (v.playbackRate !== 1) {
          v.playbackRate = 1;
          $("on-player-warn").textContent = "只有 1 倍速播放计入学时，已恢复为 1 倍速。";
          $("on-player-warn").hidden = false;
        }
      };
    }
    if (resume && v.paused && !v.ended) {
      var p = v.play();
      if (p && p.catch) p.catch(function () { $("on-player-warn").textContent = "请点击播放继续学习。"; $("on-player-warn").hidden = false; });
    }
    clearInterval(b.timer);
    b.timer = setInterval(function () { beat(b); }, ONLINE.videoHeartbeatMs);
  }

  /* 课程测验: at a checkpoint not yet passed the video stops and its questions show; the server
     grades the answers (the page is never sent them) and credits the segment once all are right. */
  function loadQuiz(b) {
    if (b.media.kind !== "recorded") return;
    api("GET", "/api/lessons/" + b.lessonId + "/quiz", undefined, 15000).then(function (r) {
      if (state.beat !== b || !r.ok || !r.data.quiz) return;
      b.quiz = r.data.quiz;
      checkQuiz(b);
    });
  }

  function checkQuiz(b) {
    var v = b.video;
    if (!b.quiz || !v || state.online === null) return;
    var c = b.quiz.checkpoints.filter(function (x) { return x.status !== "passed" && v.currentTime >= x.position_s - 0.05; })[0];
    if (!c) return;
    if (!v.paused) v.pause();
    if (b.quizAt !== c || $("on-quiz").hidden) showQuiz(b, c);
  }

  function showQuiz(b, c) {
    b.quizAt = c;
    b.quizKey = null;
    $("on-quiz-title").textContent = "第 " + c.number + " 段课程测验（" + clock(c.segment_start_s) + "–" + clock(c.position_s) + "）";
    var box = clear($("on-quiz-questions"));
    c.questions.forEach(function (q, i) {
      var set = el("fieldset", "");
      set.appendChild(el("legend", "", (i + 1) + ". " + q.text));
      q.options.forEach(function (o, j) {
        var lab = el("label", ""), input = document.createElement("input");
        input.type = "radio"; input.name = "quiz-q" + i; input.value = String(j);
        lab.appendChild(input); lab.appendChild(document.createTextNode(o));
        set.appendChild(lab);
      });
      box.appendChild(set);
    });
    var msg = $("on-quiz-msg");
    msg.textContent = c.status === "failed" && c.last ? "上次答对 " + c.last.correct + "/" + c.last.total + " 题。" : "";
    msg.className = "small";
    $("on-quiz-rewatch").hidden = true;
    $("on-quiz-submit").disabled = false;
    $("on-quiz").hidden = false;
    $("on-quiz").scrollIntoView({ block: "nearest" });
  }

  function rewatchOffer(b, c) {
    var again = $("on-quiz-rewatch");
    again.textContent = "回到 " + clock(c.segment_start_s) + " 重新观看这一段";
    again.hidden = false;
    again.onclick = function () {
      $("on-quiz").hidden = true;
      b.video.currentTime = c.segment_start_s;
      b.video.play();
    };
  }

  $("on-quiz").addEventListener("submit", function (e) {
    e.preventDefault();
    var b = state.beat, c = b && b.quizAt, msg = $("on-quiz-msg");
    if (!c) return;
    var answers = c.questions.map(function (q, i) {
      var picked = document.querySelector("input[name=quiz-q" + i + "]:checked");
      return picked ? Number(picked.value) : -1;
    });
    if (answers.indexOf(-1) >= 0) { msg.textContent = "请回答全部题目后再提交。"; msg.className = "small bad"; return; }
    // The same key until an answer comes back: a retry after a network error is the same attempt.
    b.quizKey = b.quizKey || "q" + randomHex(12);
    $("on-quiz-submit").disabled = true;
    // A heartbeat first, answered before the answers go: the server knows a segment was watched
    // again only from the heartbeats, and the one the pause at the checkpoint sent may still be
    // on its way (a quick answer would otherwise be refused as "not watched again").
    beat(b).then(function () {
      return api("POST", "/api/lessons/" + b.lessonId + "/quiz/attempts",
                 { checkpoint: c.index, answers: answers, idempotency_key: b.quizKey }, 15000);
    }).then(function (r) {
      $("on-quiz-submit").disabled = false;
      if (r.status === 0) { msg.textContent = "网络中断，请再次提交（不会重复计算）。"; msg.className = "small bad"; return; }
      b.quizKey = null;
      if (r.ok && r.data.passed) {
        c.status = "passed";
        msg.textContent = r.data.message; msg.className = "small ok";
        setTimeout(function () {
          if (b.quizAt !== c) return;
          $("on-quiz").hidden = true;
          if (state.beat === b && state.online) b.video.play();
        }, 1500);
        return;
      }
      if (r.ok) { c.status = "failed"; c.last = { correct: r.data.correct, total: r.data.total }; }
      msg.textContent = r.ok ? r.data.message : errorText(r);
      msg.className = "small bad";
      if (r.ok || r.status === 409) rewatchOffer(b, c);
    });
  });

  /* An HLS video (a live stream, or a recorded one on the institution's server): the browser's own
     player where it plays HLS (Safari, iOS WeChat), else hls.js (vendored, loaded only then). */
  function attachSource(b, v) {
    var hls = b.media.content_type === "application/vnd.apple.mpegurl";
    if (!hls || v.canPlayType("application/vnd.apple.mpegurl")) { v.src = b.media.src; return; }
    loadScript("/vendor/hls.light.min.js").then(function () {
      if (state.beat !== b || typeof Hls !== "function" || !Hls.isSupported()) {
        if (state.beat === b) { $("on-player-warn").textContent = "本浏览器无法播放该视频，请换用手机自带浏览器或微信打开。"; $("on-player-warn").hidden = false; }
        return;
      }
      // No worker: the page's CSP allows no blob: scripts.
      b.hls = new Hls({ enableWorker: false });
      b.hls.loadSource(b.media.src);
      b.hls.attachMedia(v);
    });
  }

  function loadScript(src) {
    return new Promise(function (resolve) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = script.onerror = function () { resolve(); };
      document.head.appendChild(script);
    });
  }

  /* Seconds behind a live stream's edge (the end of what can be played), or null. */
  function liveLag(v) {
    if (!v.seekable || !v.seekable.length) return null;
    return Math.max(0, v.seekable.end(v.seekable.length - 1) - v.currentTime);
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds)), m = Math.floor(s / 60);
    return (m >= 60 ? Math.floor(m / 60) + ":" + pad2(m % 60) : String(m)) + ":" + pad2(s % 60);
  }
  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  function beat(b) {
    var visible = document.visibilityState !== "hidden", body = { visible: visible }, v = b.video;
    if (v && b.media && v.readyState > 0) {
      body.position_s = Math.round(v.currentTime * 1000) / 1000;
      body.playback = v.ended ? "ended" : v.paused ? "paused" : v.readyState < 3 ? "buffering" : "playing";
      body.rate = v.playbackRate;
      if (b.media.kind === "live") {
        var lag = liveLag(v);
        if (lag !== null) body.live_lag_s = Math.round(lag * 10) / 10;
      }
    }
    return api("POST", "/api/lessons/" + b.lessonId + "/heartbeat", body, 15000).then(function (r) {
      var on = state.online;
      if (!on || on.lessonId !== b.lessonId || state.beat !== b) return;
      var s = $("on-status"), l = on.lesson;
      if (r.ok && l && Date.now() < Date.parse(l.starts_at)) {
        s.textContent = "课程 " + hhmm(l.starts_at) + " 开始，开始前的时间不计入学时";
        s.className = "big-status";
      } else if (r.ok) {
        var paused = body.playback === "paused";
        s.textContent = paused ? "视频已暂停（暂停期间不计入学时）" : "在线学习中";
        s.className = paused ? "big-status" : "big-status ok";  // not green: nothing is being credited
      } else {
        s.textContent = r.status === 0 ? "网络中断，正在重连…" : errorText(r);
        s.className = "big-status bad";
      }
      if (r.ok) $("on-beat").textContent = "最近一次在线确认：" + hhmm(r.data.at) + (r.data.visible ? "" : "（页面在后台）");
    });
  }

  function poll(on) {
    on.lastPoll = Date.now();
    api("GET", "/api/lessons/" + on.lessonId + "/spot-checks/pending", undefined, 15000).then(function (r) {
      if (state.online !== on || !r.ok) return;
      var check = r.data.filter(function (c) { return c.seconds_left > 0; })[0];
      if (!check) { $("on-spot").hidden = true; on.spot = null; return; }
      if (on.spot && on.spot.id === check.id) return;
      on.spot = check;
      var due = Date.now() + check.seconds_left * 1000;  // the server's count, on the phone's clock
      $("on-spot").hidden = false;
      $("on-missed").hidden = true;
      if (state.beat && state.beat.video && !state.beat.video.paused) state.beat.video.pause();  // answer first, then watch on
      if (on.countdown) clearInterval(on.countdown);
      function tick() {
        var left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
        $("on-countdown").textContent = String(left);
        if (!left) {
          clearInterval(on.countdown);
          $("on-spot").hidden = true;
          // Said, not just gone: what the missed check cost, and that the next passed one starts the count again.
          var missed = clear($("on-missed")), b = state.beat;
          var budget = check.miss_budget, ends = budget && budget.ends_lesson;
          missed.appendChild(el("span", "", hhmm(check.issued_at) + " 的随机抽查已超时未完成：从上一次核验到下一次通过核验之间的学习时间不计入学时。" +
            (ends ? "" : "请继续学习；下一次抽查通过后重新开始计入。")));
          // Where the region limits the misses per lesson: how many are left, or that the lesson's credit ended.
          if (budget) missed.appendChild(el("span", "", ends ? "本课次错过的抽查已超过本地区允许的 " + budget.allowed + " 次，本课次此后的学习时间不再计入学时，重新观看也不能补回。"
                                                             : "本课次已错过 " + (budget.missed + 1) + " 次，本地区每课次最多允许 " + budget.allowed + " 次。"));
          if (!ends && b && b.media && b.media.kind === "recorded" && b.video) {
            // A recorded lesson is made up by watching that part again (it was not credited).
            var from = b.checkpoint || 0;
            missed.appendChild(el("span", "", "录播课：请从 " + clock(from) + " 起重新观看这一段。"));
            var again = el("button", "", "回到 " + clock(from) + " 重新观看");
            again.type = "button";
            again.id = "on-rewatch";
            again.addEventListener("click", function () { b.video.currentTime = from; b.video.play(); });
            missed.appendChild(again);
          }
          $("on-missed").hidden = false;
          on.spot = null;
        }
      }
      tick();
      on.countdown = setInterval(tick, 1000);
      if (navigator.vibrate) { try { navigator.vibrate([200, 100, 200]); } catch (e) { /* not allowed */ } }
    });
  }

  $("on-answer").addEventListener("click", function () {
    var on = state.online;
    if (on && on.spot) go("#/checkin/" + on.lessonId + "/spot_check/" + on.spot.id);
  });

  document.addEventListener("visibilitychange", function () {
    if (state.beat) beat(state.beat);
    if (state.online && document.visibilityState === "visible") poll(state.online);
  });

  // --- 我的学时 -------------------------------------------------------------------------------

  function showHours(enrollmentId) {
    show("hours", "我的学时", true);
    ["hours-class", "hours-credited", "hours-required", "hours-note"].forEach(function (id) { $(id).textContent = ""; });
    clear($("hours-table"));
    clear($("hours-reasons")).appendChild(el("li", "note", "正在加载…"));
    var home = state.home ? Promise.resolve({ ok: true, data: state.home }) : api("GET", "/api/me/lessons");
    home.then(function (r) {
      var cls = r.ok && r.data.enrollments.filter(function (e) { return e.enrollment_id === enrollmentId; })[0];
      if (cls) $("hours-class").textContent = cls.class_name;
    });
    return api("GET", "/api/enrollments/" + enrollmentId + "/ledger").then(function (r) {
      var reasons = clear($("hours-reasons"));
      if (!r.ok) { reasons.appendChild(el("li", "", errorText(r))); return; }
      var L = r.data;
      $("hours-credited").textContent = "已计入 " + L.credited.total + " 学时";
      $("hours-required").textContent = "本班要求 " + L.required_hours + " 学时" + (L.credited.complete ? "，已达到" : "");
      var rows = [["原始", L.raw], ["已核验", L.verified], ["计入", L.credited]];
      rows.forEach(function (row) {
        var tr = el("tr", row[0] === "计入" ? "credited" : "");
        tr.appendChild(el("td", "", row[0]));
        tr.appendChild(el("td", "", row[1].offline));
        tr.appendChild(el("td", "", row[1].online));
        $("hours-table").appendChild(tr);
      });
      $("hours-note").textContent = "单位：学时（每学时 " + L.minutes_per_class_hour + " 分钟）。线上计入上限 " + L.credited.online_cap +
        " 学时。原始 = 签到记录所申报的时段；已核验 = 其中通过核验的时段；计入 = 按本地区规则（含线上上限）计入补贴的学时。";
      L.reasons.forEach(function (x) { reasons.appendChild(reasonItem(x.detail, x.clause, "")); });
      L.lessons.forEach(function (lesson) {
        lesson.uncredited.forEach(function (u) {
          if (u.seconds < 60) return;  // a lesson still running ends "now": no minutes to explain yet
          var when = label("mode", lesson.mode) + "课 " + dateText(u.start) + " " + hhmm(u.start) + "–" + hhmm(u.end);
          if (u.pending) {  // the lesson is still on: 签退 (or the next spot check) decides this time
            reasons.appendChild(reasonItem(when + "，" + Math.round(u.seconds / 60) + " 分钟待核验：本次课还在进行，签退后按核验结果计入", "", "warn"));
            return;
          }
          reasons.appendChild(reasonItem(when + "，" + Math.round(u.seconds / 60) + " 分钟未计入：" + u.detail, u.clause, ""));
        });
      });
      if (!reasons.firstChild) reasons.appendChild(el("li", "note", "目前没有未计入的时段。"));
      // Lessons checked by the teacher instead of the face (the trainee refused face recognition): said as such.
      L.lessons.forEach(function (lesson) {
        if (lesson.method_label) {
          reasons.appendChild(reasonItem(label("mode", lesson.mode) + "课 " + dateText(lesson.starts_at) + " " +
                                         hhmm(lesson.starts_at) + "：" + lesson.method_label, "", "note"));
        }
      });
    });
  }

  /* A clause as the trainee reads it: "POLICY §3" -> "线上学时计入不超过规定学时的50%（政策摘要第3条）",
     from the words the page carries (#clause-words, policies/clauses.py); "js 2.2" as it is. */
  var clauseWords = null;
  function clauseText(clause) {
    if (clauseWords === null) {
      var node = document.getElementById("clause-words");
      try { clauseWords = node ? JSON.parse(node.textContent) : {}; } catch (e) { clauseWords = {}; }
    }
    return String(clause).replace(/POLICY §(\d+)/g, function (m, n) { return clauseWords[m] || "政策摘要第" + n + "条"; });
  }

  function reasonItem(text, clause, cls) {
    var li = el("li", cls);
    li.appendChild(el("div", "", text));
    if (clause) li.appendChild(el("span", "clause", "依据：" + clauseText(clause)));
    return li;
  }

  // --- permission help ------------------------------------------------------------------------

  var HELP = {
    camera: {
      title: "需要使用摄像头",
      intro: "签到要用前置摄像头拍摄您本人完成动作验证，但本浏览器没有获得摄像头权限。请按下面的方法开启，然后点“我已开启，重试”。",
      wechat: ["苹果手机：打开手机「设置」→「微信」→ 打开「相机」。", "安卓手机：打开手机「设置」→「应用」→「微信」→「权限」→「相机」→ 选「允许」。",
               "回到微信，点右上角「…」→「刷新」，再次签到时在弹窗中点「允许」。"],
      ios: ["打开手机「设置」→「Safari 浏览器」→「相机」→ 选「询问」或「允许」。", "或在 Safari 地址栏点「大小」(aA) →「网站设置」→「相机」→「允许」。",
            "回到本页面，点“我已开启，重试”。"],
      android: ["点地址栏左侧的图标 →「权限」(或「网站设置」) →「相机」→「允许」。", "如果仍不行：手机「设置」→「应用」→「Chrome」→「权限」→「相机」→「允许」。",
                "回到本页面，点“我已开启，重试”。"],
    },
    location: {
      title: "需要获取位置",
      intro: "线下课签到要确认您在培训场地内，但本浏览器没有获得位置权限。请按下面的方法开启，并打开手机的定位服务，然后点“我已开启，重试”。",
      wechat: ["苹果手机：「设置」→「隐私与安全性」→「定位服务」→「微信」→ 选「使用 App 期间」，并打开「精确位置」。",
               "安卓手机：「设置」→「应用」→「微信」→「权限」→「位置信息」→「仅在使用中允许」，并打开「使用精确位置」。",
               "回到微信，点右上角「…」→「刷新」，再次签到时在弹窗中点「允许」。"],
      ios: ["「设置」→「隐私与安全性」→「定位服务」打开；再点「Safari 浏览器网站」→ 选「使用 App 期间」，并打开「精确位置」。",
            "或在 Safari 地址栏点「大小」(aA) →「网站设置」→「位置」→「允许」。", "回到本页面，点“我已开启，重试”。"],
      android: ["下拉通知栏，打开「位置信息」(GPS)。", "点地址栏左侧的图标 →「权限」→「位置」→「允许」。",
                "如果仍不行：手机「设置」→「应用」→「Chrome」→「权限」→「位置信息」→「仅在使用中允许」，并打开「使用精确位置」。"],
    },
  };
  var BROWSERS = [["wechat", "微信内置浏览器"], ["ios", "iPhone Safari"], ["android", "安卓 Chrome 等浏览器"]];

  /* 我的人脸信息: what is held, who viewed it, a copy of one's records, and each consent withdrawn
     (or given) on its own (PIPL art. 44-47). Every request is recorded by the server. */
  function fullDate(iso) {
    return iso ? new Date(iso).toLocaleDateString("zh-CN", { timeZone: TZ, year: "numeric", month: "long", day: "numeric" }) : "";
  }
  var WITHDRAW_NOTE = {
    biometric: "撤回后系统将删除您的人脸模板；之后签到、签退改由授课老师在教室确认本人在场，学时按本地区规定计入。",
    photo_keeping: "撤回后，您的签到照片自现在起只保留到各次课程复核期结束，然后删除。"
  };

  function consentCard(c) {
    var card = el("div", "card"), granted = c.state === "granted";
    card.appendChild(el("h2", "", c.title));
    card.appendChild(el("p", granted ? "done verified" : "done", granted ? "已同意（" + fullDate(c.at) + "，告知书 " + c.agreed_version + " 版）"
      : c.state === "withdrawn" ? "未同意或已撤回（" + fullDate(c.at) + "）" : "尚未表示同意"));
    var details = el("details"), summary = el("summary", "", "告知书全文（" + c.version + " 版）");
    details.appendChild(summary);
    details.appendChild(el("p", "small", c.text));
    card.appendChild(details);
    var err = el("p", "form-error");
    var button = el("button", granted ? "" : "primary", granted ? "撤回同意" : "我已阅读并同意");
    button.type = "button";
    button.setAttribute("data-purpose", c.purpose);
    button.addEventListener("click", function () {
      if (granted && !window.confirm("确认撤回“" + c.title + "”的同意？\n\n" + (WITHDRAW_NOTE[c.purpose] || ""))) return;
      button.disabled = true;
      api("POST", "/api/trainees/" + state.user.trainee_id + "/consent",
          { purpose: c.purpose, granted: !granted, channel: "phone", text_version: c.version }).then(function (r) {
        button.disabled = false;
        if (!r.ok) { err.textContent = errorText(r); return; }
        showPrivacy();
      });
    });
    card.appendChild(button);
    card.appendChild(err);
    return card;
  }

  function listInto(box, items, empty, line) {
    clear(box);
    if (!items.length) box.appendChild(el("li", "note muted", empty));
    items.forEach(function (x) { box.appendChild(el("li", "note", line(x))); });  // records, not faults
  }

  function showPrivacy() {
    show("privacy", "我的人脸信息", true);
    var consents = clear($("pv-consents"));
    consents.appendChild(el("p", "loading", "正在加载…"));
    return api("GET", "/api/me/face-data").then(function (r) {
      clear(consents);
      if (!r.ok) { consents.appendChild(el("p", "form-error", errorText(r))); return; }
      var d = r.data, t = d.templates, p = d.photos;
      $("pv-templates").textContent = t.held ? "人脸模板：" + t.held + " 份（自 " + fullDate(t.since) + " 起），" + t.kept_until + "。"
        : "人脸模板：无" + (t.erased ? "（已删除 " + t.erased + " 份）" : "") + "。";
      $("pv-photos").textContent = p.count ? "签到照片：" + p.count + " 张（" + fullDate(p.first_at) + " 至 " + fullDate(p.last_at) + "）" +
        (p.kept_until ? "，最迟保存至 " + fullDate(p.kept_until) : "") + (p.open_reviews ? "；" + p.open_reviews + " 次签到仍在复核中，复核结束前不删除" : "") + "。"
        : "签到照片：无。";
      $("pv-rule").textContent = p.rule + "。";
      d.consents.forEach(function (c) { consents.appendChild(consentCard(c)); });
      listInto($("pv-views"), d.views, "没有人查看过您的照片。", function (v) { return fullDate(v.at) + " " + hhmm(v.at) + " " + v.who + " " + v.what; });
      listInto($("pv-requests"), d.requests, "暂无。", function (q) { return fullDate(q.at) + " " + hhmm(q.at) + " " + q.what + "（" + q.by + "）：" + q.answer; });
    });
  }

  function showHelp(what, lessonId, kind) {
    var h = HELP[what] || HELP.camera;
    show("help", what === "location" ? "开启位置权限" : "开启摄像头权限", true);
    $("help-title").textContent = h.title;
    $("help-intro").textContent = h.intro;
    var box = clear($("help-browsers")), mine = browser();
    var order = BROWSERS.filter(function (b) { return b[0] === mine; }).concat(BROWSERS.filter(function (b) { return b[0] !== mine; }));
    order.forEach(function (b) {
      var div = el("div", "help-browser" + (b[0] === mine ? " current" : ""));
      div.setAttribute("data-browser", b[0]);
      div.appendChild(el("h3", "", b[1] + (b[0] === mine ? "（您正在使用）" : "")));
      var ol = el("ol");
      h[b[0]].forEach(function (t) { ol.appendChild(el("li", "", t)); });
      div.appendChild(ol);
      box.appendChild(div);
    });
    $("help-retry").onclick = function () {
      if (lessonId) go("#/checkin/" + lessonId + "/" + (kind || "check_in") + "/" + randomHex(2));
      else go("#/");
    };
  }

  window.addEventListener("hashchange", route);
  route();
})();
