/* Shared by every page: API calls (CSRF header, retries with the same Idempotency-Key), the header, toasts. */
"use strict";
const SW = {
  // the violation types, in the order the filters list them: streetwarden/vocabulary.py VIOLATIONS
  // (tests/test_ui_vocabulary.py keeps the two equal)
  VIOLATIONS: ["sidewalk_parking", "non_motor_parking", "street_vendor", "out_of_shop", "illegal_dumping", "bin_overflow"],
  me: null,
  csrf: null,

  uuid() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  },

  async api(method, path, body, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    if (body !== undefined && body !== null) headers["Content-Type"] = "application/json";
    if (method !== "GET" && SW.csrf) headers["X-CSRF-Token"] = SW.csrf;
    if (opts.key) headers["Idempotency-Key"] = opts.key;
    const tries = opts.retries || 1;
    for (let i = 0; i < tries; i++) {
      let res;
      try {
        res = await fetch(path, { method, headers, credentials: "same-origin",
                                  body: body === undefined || body === null ? undefined : JSON.stringify(body) });
      } catch (err) {
        if (i + 1 < tries) { if (!opts.quiet) SW.toast(t("network_error"), "warn"); await new Promise((r) => setTimeout(r, 500 * (i + 1))); continue; }
        return { ok: false, status: 0, data: { detail: String(err) } };
      }
      if (res.status === 401 && !opts.noRedirect) {
        location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
        return { ok: false, status: 401, data: {} };
      }
      let data = {};
      if (res.status !== 204) { try { data = await res.json(); } catch (e) { data = {}; } }
      if (res.status >= 500 && i + 1 < tries) { await new Promise((r) => setTimeout(r, 500 * (i + 1))); continue; }
      return { ok: res.ok, status: res.status, data };
    }
    return { ok: false, status: 0, data: {} };
  },

  async init(page) {
    const r = await SW.api("GET", "/api/v1/auth/me");
    if (!r.ok) return false;
    SW.me = r.data.user;
    SW.csrf = r.data.csrf_token;
    document.querySelectorAll(`nav a[data-page="${page}"]`).forEach((a) => a.classList.add("active"));
    const who = document.getElementById("who");
    if (who) who.textContent = (SW.me.display_name || SW.me.username) + " · " + t("role_" + SW.me.role);
    const lang = document.getElementById("lang-toggle");
    if (lang) lang.addEventListener("click", () => setLang(currentLang() === "en" ? "zh-CN" : "en"));
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => { await SW.api("POST", "/api/v1/auth/logout"); location.href = "/login"; });
    applyI18n();
    return true;
  },

  TOASTS_MAX: 3,

  /* One bounded stack: at most TOASTS_MAX, the oldest goes first, so fast work never buries the page.
     `action` ({label, run, until}) adds a button (the queue's undo) that disappears at `until` (ms). */
  toast(msg, kind, action) {
    const box = document.getElementById("toast");
    if (!box) return null;
    const el = document.createElement("div");
    el.className = "toast " + (kind || "ok");
    el.append(SW.el("span", { text: msg }));
    let life = kind === "error" ? 6000 : 2500;
    if (action) {
      const b = SW.el("button", { type: "button", class: "toast-action", text: action.label });
      b.addEventListener("mousedown", (ev) => ev.preventDefault());  // never takes the keyboard focus
      b.addEventListener("click", () => { el.remove(); action.run(); });
      el.append(b);
      if (action.until) life = Math.max(life, action.until - Date.now());
    }
    box.appendChild(el);
    while (box.children.length > SW.TOASTS_MAX) box.firstElementChild.remove();
    setTimeout(() => el.remove(), life);
    return el;
  },

  /* What an API refusal means, in the page's language: by the body's stable `code` when there is one,
     else by HTTP status; the server's English `detail` is shown only in the English page. */
  explain(r) {
    const data = (r && r.data) || {};
    if (data.code && I18N[currentLang()]["err_" + data.code]) return t("err_" + data.code);
    if (currentLang() === "en" && data.detail && typeof data.detail === "string") return data.detail;
    const st = (r && r.status) || 0;
    const key = st === 0 ? "err_network" : st >= 500 ? "err_server" : ({ 400: "err_invalid", 401: "err_login", 403: "err_forbidden",
      404: "err_not_found", 409: "err_conflict", 413: "err_too_large", 422: "err_invalid", 429: "err_too_many" })[st] || "err_other";
    return t(key, { status: st });
  },

  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else if (v !== null && v !== undefined) e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  },

  fmtOffset(sec) {
    const s = Math.max(0, Math.round(sec));
    const m = Math.floor(s / 60);
    return String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  },

  fmtDate(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString(currentLang() === "en" ? "en-GB" : "zh-CN", { hour12: false });
  },
};
