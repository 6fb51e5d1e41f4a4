"use strict";
/* Swagger UI on /openapi.json, served from this server (no CDN). Cookie sessions need the CSRF header. */
(async function () {
  applyI18n();  // the way back to the review pages, in the reviewer's language
  let csrf = null;
  try { const r = await fetch("/api/v1/auth/me", { credentials: "same-origin" }); if (r.ok) csrf = (await r.json()).csrf_token; } catch (e) { /* bearer users authorize in the UI */ }
  window.ui = SwaggerUIBundle({
    url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    requestInterceptor: (req) => { if (csrf && req.method && req.method !== "GET") req.headers["X-CSRF-Token"] = csrf; return req; },
  });
})();
