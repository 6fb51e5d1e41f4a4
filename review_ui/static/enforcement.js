"use strict";
/* Notices and cases: what the warn / case decisions became, including the case system's status changes.
   Latest change first, so a case the case system just closed comes to the top; refreshed every 30 s. */
(async function () {
  if (!(await SW.init("enforcement"))) return;
  const $ = (id) => document.getElementById(id);
  const STATUSES = { notices: ["open", "awaiting_supervisor", "complied", "escalated", "cancelled", "withdrawn"],
                     cases: ["open", "accepted", "closed", "rejected"] };
  const PAGE = 50;
  const MAX_PAGE = 500;  // the API's largest page
  const canDecide = ["supervisor", "admin"].includes(SW.me.role);
  const start = new URLSearchParams(location.search);
  let tab = start.get("tab") === "cases" || /^SW-C-/.test(start.get("ref") || "") ? "cases" : "notices";
  let items = [];        // rows of the list, latest change first
  let cursor = null;     // next page of the list
  let sel = 0;           // the highlighted row (j / k)
  let shown = null;      // the record in the detail panel
  let evIdx = 0;
  let asking = 0;        // only the latest list request's answer is shown
  const cameras = {};    // id -> {name, zones: {id: name}}
  const shops = {};      // id -> name

  const kindOf = (ref) => (ref[3] === "C" ? "cases" : "notices");
  const statusText = (rec) => t((rec.kind === "case" ? "cs_" : "ns_") + rec.status);
  const evUrl = (e) => "/api/v1/evidence/" + e.id;  // authenticated by the session cookie, like the queue's

  function badge(rec) {
    return SW.el("span", { class: `badge st-${rec.kind}-${rec.status}`, "data-status": rec.status, text: statusText(rec) });
  }

  function cameraText(rec) {
    const cam = cameras[rec.place.camera_id];
    return cam && cam.name ? `${cam.name} (${rec.place.camera_id})` : rec.place.camera_id;
  }
  function zoneText(rec) {
    const cam = cameras[rec.place.camera_id];
    return (cam && cam.zones[rec.place.zone_id]) || rec.place.zone_id;
  }
  function shopPlate(rec) {
    const parts = [];
    if (rec.shop_id) parts.push(shops[rec.shop_id] || rec.shop_id);
    if (rec.plate && rec.plate.text) parts.push(rec.plate.text);
    return parts.join(" · ");
  }
  function seenText(rec) {
    const s = rec.seen;
    if (s.clock === "utc") return SW.fmtDate(s.first) + " – " + SW.fmtDate(s.last);
    return t("recorded") + " " + SW.fmtOffset(s.first) + " – " + SW.fmtOffset(s.last);
  }
  function fmtSpan(sec) {
    if (sec >= 7200) return +(sec / 3600).toFixed(1) + " " + t("hours");
    return sec >= 120 ? Math.round(sec / 60) + " " + t("minutes") : Math.round(sec) + " " + t("seconds");
  }

  function extraCell(rec) {
    // notices: the deadline and what the re-check found; cases: the case system's result
    if (rec.kind === "case") return SW.el("td", { class: "extra", text: rec.result || "" });
    const td = SW.el("td", { class: "extra" }, SW.el("span", { class: "deadline", text: SW.fmtDate(rec.deadline) }));
    if (rec.recheck && rec.recheck.note) td.append(SW.el("div", { class: "muted recheck", text: rec.recheck.note }));
    return td;
  }

  function row(rec, i) {
    const tr = SW.el("tr", { "data-ref": rec.ref, "data-status": rec.status, class: "pick" + (i === sel ? " sel" : "") },
      SW.el("td", { class: "ref", text: rec.ref }), SW.el("td", { text: t(rec.violation) }),
      SW.el("td", { text: cameraText(rec) + " / " + zoneText(rec) + (rec.place.address ? " · " + rec.place.address : "") }),
      SW.el("td", { text: SW.fmtDate(rec.kind === "case" ? rec.created_at : rec.issued_at) }),
      SW.el("td", {}, badge(rec)), extraCell(rec), SW.el("td", { class: "shop-plate", text: shopPlate(rec) }));
    if (shown && shown.ref === rec.ref) tr.classList.add("open");
    tr.addEventListener("click", () => { sel = i; openRecord(rec); });
    return tr;
  }

  function renderList() {
    $("record-rows").replaceChildren(...items.map(row));
    $("records-empty").hidden = items.length > 0;
    $("records-empty").textContent = t(tab === "cases" ? "no_cases" : "no_notices");
    $("load-more").hidden = !cursor;
    document.querySelector("#records th:nth-child(6)").dataset.i18n = tab === "cases" ? "result" : "deadline_col";
    applyI18n(document.querySelector("#records thead"));
  }

  function moveSel(to) {
    if (!items.length) return;
    sel = Math.max(0, Math.min(items.length - 1, to));
    document.querySelectorAll("#record-rows tr").forEach((tr, i) => tr.classList.toggle("sel", i === sel));
    const tr = document.querySelectorAll("#record-rows tr")[sel];
    if (tr) tr.scrollIntoView({ block: "nearest" });
  }

  function setTab(next) {
    tab = next;
    document.querySelectorAll(".tabs [data-tab]").forEach((b) => {
      b.classList.toggle("on", b.dataset.tab === tab);
      b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    });
    const select = $("f-status");
    select.replaceChildren(SW.el("option", { value: "", "data-i18n": "all_statuses", text: t("all_statuses") }),
      ...STATUSES[tab].map((st) => SW.el("option", { value: st, "data-i18n": (tab === "cases" ? "cs_" : "ns_") + st })));
    applyI18n(select);
  }

  async function load(reset, size) {
    const mine = ++asking;
    const q = new URLSearchParams({ order: "newest", limit: String(size || PAGE) });
    if ($("f-status").value) q.set("status", $("f-status").value);
    if (!reset && cursor) q.set("cursor", cursor);
    const r = await SW.api("GET", `/api/v1/${tab}?` + q);
    if (mine !== asking) return;  // a newer request (another tab, filter or page) answers instead
    if (!r.ok) { SW.toast(t("error", { detail: SW.explain(r) }), "error"); return; }
    const keep = items[sel] ? items[sel].ref : null;
    items = reset ? r.data.items : items.concat(r.data.items);
    cursor = r.data.next_cursor;
    const at = keep ? items.findIndex((x) => x.ref === keep) : -1;
    sel = at >= 0 ? at : Math.min(sel, Math.max(0, items.length - 1));
    renderList();
  }

  /* The list again, as long as it is now (status changes move rows to the top), and the open record. */
  async function refresh() {
    await load(true, Math.min(MAX_PAGE, Math.max(PAGE, items.length)));
    if (shown) await openRef(shown.ref, true);
  }

  function metaRows(rec) {
    const rows = [["camera", cameraText(rec)], ["zone", zoneText(rec)]];
    if (rec.place.address) rows.push(["place", rec.place.address]);
    const label = (currentLang() === "zh-CN" && I18N["zh-CN"]["obj_" + rec.label.replace(/ /g, "_")]) || rec.label;  // as the queue shows it
    rows.push(["violation", t(rec.violation)], ["label", label], ["seen", seenText(rec)]);
    if (rec.kind === "notice") {
      rows.push(["issued_col", SW.fmtDate(rec.issued_at)], ["issued_by", rec.issued_by], ["grace", fmtSpan(rec.grace_seconds)],
                ["deadline", SW.fmtDate(rec.deadline)]);
      const rc = rec.recheck;
      if (rc.attempts) rows.push(["recheck_attempts", String(rc.attempts)]);
      if (rc.checked_at) rows.push(["checked_at", SW.fmtDate(rc.checked_at)]);
      if (rc.note) rows.push(["recheck_note", rc.note]);
      if (rc.next_check_at) rows.push(["next_check", SW.fmtDate(rc.next_check_at)]);
      if (rec.closed_at) rows.push(["closed_at", SW.fmtDate(rec.closed_at)]);
      if (rec.case_ref) rows.push(["to_case", { ref: rec.case_ref }]);
    } else {
      rows.push(["issued_col", SW.fmtDate(rec.created_at)], ["created_by", rec.created_by], ["origin", t("origin_" + rec.origin)]);
      if (rec.notice_ref) rows.push(["from_notice", { ref: rec.notice_ref }]);
      if (rec.external_id) rows.push(["external_id", rec.external_id]);
      if (rec.result) rows.push(["result", rec.result]);
    }
    if (rec.shop_id) rows.push(["shop", shops[rec.shop_id] ? `${shops[rec.shop_id]} (${rec.shop_id})` : rec.shop_id]);
    if (rec.plate && rec.plate.text) rows.push(["plate", rec.plate.text]);
    if (rec.note) rows.push(["note_col", rec.note]);
    rows.push(["updated_col", SW.fmtDate(rec.updated_at)]);
    return rows;
  }

  function refLink(ref) {
    const a = SW.el("a", { href: "/enforcement?ref=" + encodeURIComponent(ref), class: "ref-link", text: ref });
    a.addEventListener("click", (ev) => { ev.preventDefault(); openRef(ref); });
    return a;
  }

  function showEvidence(rec) {
    const evs = rec.evidence || [];
    if (evIdx >= evs.length) evIdx = 0;
    const e = evs[evIdx];
    const img = $("d-ev-main");
    if (e) { if (img.getAttribute("src") !== evUrl(e)) img.src = evUrl(e); } else img.removeAttribute("src");
    $("d-ev-label").textContent = e ? t(e.kind) + (e.note ? " · " + e.note : "") : "";
    document.querySelectorAll("#d-thumbs figure").forEach((f, i) => f.classList.toggle("on", i === evIdx));
  }

  function renderDetail() {
    const rec = shown;
    $("detail-empty").hidden = !!rec;
    $("detail-body").hidden = !rec;
    document.querySelectorAll("#record-rows tr").forEach((tr) => tr.classList.toggle("open", !!rec && tr.dataset.ref === rec.ref));
    if (!rec) { $("detail").removeAttribute("data-ref"); return; }
    $("detail").dataset.ref = rec.ref;
    $("detail").dataset.status = rec.status;
    $("d-title").textContent = rec.ref + " · " + t(rec.violation);
    $("d-status").replaceWith(Object.assign(badge(rec), { id: "d-status" }));
    $("d-meta").replaceChildren(...metaRows(rec).flatMap(([k, v]) => [
      SW.el("dt", { text: t(k) }),
      SW.el("dd", { "data-field": k }, typeof v === "object" ? refLink(v.ref) : v)]));
    const awaiting = rec.kind === "notice" && rec.status === "awaiting_supervisor";
    $("d-supervisor").hidden = !(awaiting && canDecide);
    $("d-sup-wait").hidden = !(awaiting && !canDecide);
    $("d-withdraw").hidden = !(canDecide && rec.kind === "notice" && (rec.status === "open" || awaiting));
    $("d-thumbs").replaceChildren(...(rec.evidence || []).map((e, i) => {
      const fig = SW.el("figure", { "data-ev": e.id, "data-kind": e.kind, class: "ev-" + e.kind },
        SW.el("img", { src: evUrl(e), alt: t(e.kind), loading: "eager" }), SW.el("figcaption", { text: t(e.kind) }));
      fig.addEventListener("click", () => { evIdx = i; showEvidence(rec); });
      return fig;
    }));
    showEvidence(rec);
    const bundle = $("d-bundle");
    bundle.href = rec.bundle_url;
    bundle.setAttribute("download", rec.ref + ".zip");
    $("d-history-box").hidden = rec.kind !== "case";
    $("d-history-rows").replaceChildren(...(rec.history || []).map((h) => SW.el("tr", { "data-to": h.to, "data-source": h.source },
      SW.el("td", { text: SW.fmtDate(h.at) }),
      SW.el("td", { class: "change", text: (h.from ? t("cs_" + h.from) + " → " : "") + t("cs_" + h.to) }),
      SW.el("td", { class: "source", text: t("src_" + h.source) }), SW.el("td", { class: "by", text: h.actor }),
      SW.el("td", { class: "result", text: h.result || "" }), SW.el("td", { class: "note", text: h.note || "" }))));
  }

  function remember(ref) {
    const q = new URLSearchParams({ tab });
    if (ref) q.set("ref", ref);
    history.replaceState(null, "", "/enforcement?" + q);
  }

  function openRecord(rec) {
    if (!shown || shown.ref !== rec.ref) evIdx = 0;
    shown = rec;
    moveSel(sel);
    renderDetail();
    remember(rec.ref);
    openRef(rec.ref, true);  // the list row may be up to 30 s old
  }

  /* One record by its ref, from the API. Opening one of the other kind switches the tab; `quiet` only
     refreshes the record on show (and its row), if it is still the one shown. */
  async function openRef(ref, quiet) {
    const kind = kindOf(ref);
    const r = await SW.api("GET", `/api/v1/${kind}/${encodeURIComponent(ref)}`);
    if (!r.ok) { if (!quiet) SW.toast(t("error", { detail: SW.explain(r) }), "error"); return; }
    if (quiet) { if (!shown || shown.ref !== ref) return; }
    else if (kind !== tab) { setTab(kind); sel = 0; await load(true); }
    if (!shown || shown.ref !== ref) evIdx = 0;
    shown = r.data;
    const at = items.findIndex((x) => x.ref === ref);
    if (at >= 0) { items[at] = r.data; if (!quiet) sel = at; renderList(); moveSel(sel); }
    renderDetail();
    remember(ref);
  }

  async function supervisorDecide(action) {
    if (!shown || shown.kind !== "notice") return;
    const ref = shown.ref;
    const note = $("sup-note").value.trim() || null;
    const r = await SW.api("POST", `/api/v1/notices/${encodeURIComponent(ref)}/supervisor-decision`, { action, note });
    if (!r.ok) { SW.toast(t("error", { detail: SW.explain(r) }), "error"); return; }
    $("sup-note").value = "";
    SW.toast(action === "escalate" ? t("escalated_to", { ref: r.data.ref }) : t("notice_cancelled", { ref }));
    await refresh();
    await openRef(ref);
  }

  /* A notice issued in error, after the reviewer's undo window: withdrawn with a reason the case system gets. */
  async function withdraw() {
    if (!shown || shown.kind !== "notice") return;
    const ref = shown.ref;
    const reason = $("withdraw-reason").value.trim();
    if (!reason) { SW.toast(t("withdraw_need_reason"), "warn"); $("withdraw-reason").focus(); return; }
    const r = await SW.api("POST", `/api/v1/notices/${encodeURIComponent(ref)}/withdraw`, { reason });
    if (!r.ok) { SW.toast(t("error", { detail: SW.explain(r) }), "error"); return; }
    $("withdraw-reason").value = "";
    SW.toast(t("notice_withdrawn", { ref }));
    await refresh();
    await openRef(ref);
  }

  function closeDetail() { shown = null; renderDetail(); remember(null); }

  document.querySelectorAll(".tabs [data-tab]").forEach((b) => b.addEventListener("click", () => {
    b.blur();
    if (b.dataset.tab !== tab) { setTab(b.dataset.tab); sel = 0; load(true); remember(shown && shown.ref); }
  }));
  $("f-status").addEventListener("change", () => { sel = 0; load(true); $("f-status").blur(); });
  $("load-more").addEventListener("click", () => load(false));
  $("help-button").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
  $("btn-escalate").addEventListener("click", () => supervisorDecide("escalate"));
  $("btn-cancel-notice").addEventListener("click", () => supervisorDecide("cancel"));
  $("btn-withdraw").addEventListener("mousedown", (ev) => ev.preventDefault());
  $("btn-withdraw").addEventListener("click", withdraw);

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (typing) { if (ev.key === "Escape") document.activeElement.blur(); return; }
    const k = ev.key;
    if (k === "Enter" && ["BUTTON", "A"].includes(document.activeElement.tagName)) return;  // the focused control's own Enter
    if (!$("help").hidden) { if (k === "Escape" || k === "?") $("help").hidden = true; return; }
    const switchTo = (name) => { if (tab !== name) { setTab(name); sel = 0; load(true); remember(shown && shown.ref); } };
    const actions = {
      n: () => switchTo("notices"), c: () => switchTo("cases"),
      j: () => moveSel(sel + 1), k: () => moveSel(sel - 1), ArrowDown: () => moveSel(sel + 1), ArrowUp: () => moveSel(sel - 1),
      Enter: () => { if (items[sel]) openRecord(items[sel]); },
      e: () => { if (shown && shown.evidence.length) { evIdx = (evIdx + 1) % shown.evidence.length; showEvidence(shown); } },
      b: () => { if (shown) $("d-bundle").click(); },
      r: refresh,
      "?": () => { $("help").hidden = false; },
      Escape: closeDetail,
    };
    if (actions[k]) { ev.preventDefault(); actions[k](); }
  });
  window.addEventListener("langchange", () => { renderList(); renderDetail(); });

  const [cams, shopList] = await Promise.all([SW.api("GET", "/api/v1/cameras"), SW.api("GET", "/api/v1/shops")]);
  if (cams.ok) for (const c of cams.data) cameras[c.id] = { name: c.name, zones: Object.fromEntries(c.zones.map((z) => [z.id, z.name || z.id])) };
  if (shopList.ok) for (const s of shopList.data) shops[s.id] = s.name;
  setTab(tab);
  if (STATUSES[tab].includes(start.get("status"))) $("f-status").value = start.get("status");
  await load(true);
  if (/^SW-[NC]-\d+$/.test(start.get("ref") || "")) await openRef(start.get("ref"));
  setInterval(() => { if (document.visibilityState === "visible") refresh(); }, 30000);
})();
