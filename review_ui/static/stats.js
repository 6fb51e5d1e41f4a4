"use strict";
/* Statistics: per day / camera / violation, from GET /api/v1/stats, in the browser's time zone. */
(async function () {
  if (!(await SW.init("stats"))) return;
  const $ = (id) => document.getElementById(id);
  const COLUMNS = ["captured", "confirmed", "rejected", "warned", "complied", "escalated", "cases", "share_closed_without_case"];
  const LABEL = { captured: "st_captured", confirmed: "st_confirmed", rejected: "st_rejected", warned: "st_warned",
                  complied: "st_complied", escalated: "st_escalated", cases: "st_cases", share_closed_without_case: "st_share" };
  const start = new URLSearchParams(location.search);
  // days are counted in the viewer's time zone (minutes east of UTC, as the API wants), unless the link names one
  const asked = /^-?\d{1,3}$/.test(start.get("tz") || "") ? Number(start.get("tz")) : -new Date().getTimezoneOffset();
  const tz = Math.max(-720, Math.min(840, asked));
  const cameraNames = {};
  let data = null;
  let asking = 0;  // only the latest request's answer is shown (filters change faster than answers come)

  const pad = (n) => String(n).padStart(2, "0");
  const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const tzText = () => (tz < 0 ? "-" : "+") + pad(Math.floor(Math.abs(tz) / 60)) + ":" + pad(Math.abs(tz) % 60);
  function lastDays(n) {
    const end = new Date();
    const begin = new Date(end.getFullYear(), end.getMonth(), end.getDate() - (n - 1));
    $("s-from").value = ymd(begin);
    $("s-to").value = ymd(end);
  }
  function fmt(col, v) {
    if (col !== "share_closed_without_case") return String(v);
    return v === null || v === undefined ? "–" : (v * 100).toFixed(1).replace(/\.0$/, "") + "%";
  }
  const cells = (r) => COLUMNS.map((c) => SW.el("td", { "data-col": c, text: fmt(c, r[c]) }));

  function render() {
    const head = document.querySelector("#stats-table thead tr");
    head.replaceChildren(...["day", "camera", "violation"].map((k) => SW.el("th", { "data-i18n": k, text: t(k) })),
      ...COLUMNS.map((c) => SW.el("th", { "data-i18n": LABEL[c], text: t(LABEL[c]) })));
    if (!data) return;
    $("s-range").textContent = t("range", { from: data.from, to: data.to, tz: tzText() });
    $("totals").replaceChildren(...COLUMNS.map((c) => SW.el("div", { id: "total-" + c, "data-col": c },
      SW.el("span", { text: t(LABEL[c]) }), SW.el("b", { text: fmt(c, data.totals[c]) }))));
    $("stats-rows").replaceChildren(...data.rows.map((r) => SW.el("tr", { "data-day": r.day, "data-camera": r.camera_id, "data-violation": r.violation },
      SW.el("td", { text: r.day }), SW.el("td", { text: cameraNames[r.camera_id] || r.camera_id }), SW.el("td", { text: t(r.violation) }),
      ...cells(r))));
    $("stats-total").replaceChildren(SW.el("th", { colspan: "3", text: t("total") }), ...cells(data.totals));
    $("stats-empty").hidden = data.rows.length > 0;
  }

  /* The numbers for the filters; `share` keeps them in the address (not on the first load: its address stands). */
  async function load(share) {
    if (!$("s-from").value || !$("s-to").value) return;
    const q = new URLSearchParams({ from: $("s-from").value, to: $("s-to").value, tz: String(tz) });
    if ($("s-camera").value) q.set("camera", $("s-camera").value);
    if ($("s-violation").value) q.set("violation", $("s-violation").value);
    const mine = ++asking;
    const r = await SW.api("GET", "/api/v1/stats?" + q);
    if (mine !== asking) return;
    if (!r.ok) { SW.toast(t("error", { detail: SW.explain(r) }), "error"); return; }
    data = r.data;
    if (share) history.replaceState(null, "", "/stats?" + q);
    render();
  }

  for (const v of SW.VIOLATIONS) {
    $("s-violation").append(SW.el("option", { value: v, "data-i18n": v, text: t(v) }));
  }
  const cams = await SW.api("GET", "/api/v1/cameras");
  if (cams.ok) for (const c of cams.data) {
    cameraNames[c.id] = c.name ? `${c.name} (${c.id})` : c.id;
    $("s-camera").append(SW.el("option", { value: c.id, text: cameraNames[c.id] }));
  }
  // the old server-rendered page took the same query parameters: keep its links working
  lastDays(30);
  if (/^\d{4}-\d{2}-\d{2}$/.test(start.get("from") || "")) $("s-from").value = start.get("from");
  if (/^\d{4}-\d{2}-\d{2}$/.test(start.get("to") || "")) $("s-to").value = start.get("to");
  if (start.get("camera")) $("s-camera").value = start.get("camera");
  if (start.get("violation")) $("s-violation").value = start.get("violation");
  for (const id of ["s-from", "s-to", "s-camera", "s-violation"]) $(id).addEventListener("change", () => load(true));
  document.querySelectorAll("[data-days]").forEach((b) => b.addEventListener("click", () => { lastDays(Number(b.dataset.days)); load(true); }));
  $("stats-form").addEventListener("submit", (ev) => { ev.preventDefault(); load(true); });
  window.addEventListener("langchange", render);
  await load(false);
})();
