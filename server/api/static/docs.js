// The API page (/api/docs): Swagger UI (server/web/vendor/swagger-ui-bundle.js) on the OpenAPI
// document the server generates. A file of its own, not an inline script: the page's CSP allows
// scripts from this server only. "Try it out" uses the browser's cookie session; a write needs the
// session's CSRF token, which GET /api/auth/me answers with (after POST /api/auth/login).
(function () {
  "use strict";

  var token = null;

  function csrf() {
    if (token) return Promise.resolve(token);
    return fetch("/api/auth/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (me) { token = me.csrf_token || null; return token; })
      .catch(function () { return null; });
  }

  function onRequest(req) {
    var method = (req.method || "GET").toUpperCase();
    if (method === "GET" || method === "HEAD" || /\/api\/auth\/login$/.test(req.url)) return req;
    return csrf().then(function (t) {
      if (t) req.headers["X-CSRF-Token"] = t;
      return req;
    });
  }

  function onResponse(res) {
    // A new session (log in, log out) has a new token.
    if (/\/api\/auth\/(login|logout|activate)$/.test(res.url)) token = null;
    return res;
  }

  window.addEventListener("DOMContentLoaded", function () {
    window.ui = window.SwaggerUIBundle({
      url: "/api/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      withCredentials: true,
      defaultModelsExpandDepth: 0,
      docExpansion: "list",
      requestInterceptor: onRequest,
      responseInterceptor: onResponse,
    });
  });
})();
