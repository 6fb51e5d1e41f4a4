"use strict";
(function () {
  applyI18n();
  document.getElementById("lang-toggle").addEventListener("click", () => setLang(currentLang() === "en" ? "zh-CN" : "en"));
  const form = document.getElementById("login-form");
  const err = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.textContent = "";
    const r = await SW.api("POST", "/api/v1/auth/login", {
      username: document.getElementById("username").value, password: document.getElementById("password").value,
    }, { noRedirect: true });
    if (r.ok) {
      const next = new URLSearchParams(location.search).get("next") || "/queue";
      location.href = next.startsWith("/") && !next.startsWith("//") ? next : "/queue";
      return;
    }
    err.textContent = r.status === 429 ? t("login_locked") : r.status === 403 ? t("login_integration") : t("login_failed");
  });
})();
