"use strict";
/* Decision history: newest first, search and filters, cursor paging. */
(async function () {
  if (!(await SW.init("history"))) return;
  const $ = (id) => document.getElementById(id);
  let cursor = null;
  let timer = null;

  function params() {
    const q = new URLSearchParams();
    const s = $("h-search").value.trim();
    if (s) q.set("q", s);
    if ($("h-decision").value) q.set("decision", $("h-decision").value);
    if ($("h-reason").value) q.set("reason", $("h-reason").value);
    // whole days in the browser's time zone
    if ($("h-from").value) q.set("since", new Date($("h-from").value + "T00:00:00").toISOString());
    if ($("h-to").value) q.set("until", new Date($("h-to").value + "T23:59:59.999").toISOString());
    if (cursor) q.set("cursor", cursor);
    return q;
  }

  /* What a warn / case decision became: the notice and/or case with its status now, linked to /enforcement. */
  function issued(d) {
    const td = SW.el("td", { class: "issued" });
    for (const [ref, status, prefix] of [[d.notice_ref, d.notice_status, "ns_"], [d.case_ref, d.case_status, "cs_"]]) {
      if (!ref) continue;
      td.append(SW.el("div", { "data-ref": ref, "data-status": status },
        SW.el("a", { href: "/enforcement?ref=" + encodeURIComponent(ref), text: ref }), " ",
        SW.el("span", { class: `badge st-${prefix === "ns_" ? "notice" : "case"}-${status}`, text: t(prefix + status) })));
    }
    return td;
  }

  const place = (d) => (d.camera_name || d.camera_id) + " / " + (d.zone_name || d.zone_id);

  /* A click (or Enter) opens the decision below its row: the evidence large, with the full note. */
  function toggle(tr, d) {
    const next = tr.nextElementSibling;
    if (next && next.classList.contains("h-detail")) { next.remove(); tr.setAttribute("aria-expanded", "false"); return; }
    const what = t(d.violation) + " · " + place(d);
    const cell = SW.el("td", { colspan: "10" },
      d.thumbnail_url ? SW.el("img", { src: d.thumbnail_url, alt: t("evidence_of", { what }), class: "h-large" }) : null,
      SW.el("p", { text: "#" + d.candidate_id + " · " + what + (d.note ? " · " + d.note : "") }));
    tr.after(SW.el("tr", { class: "h-detail" }, cell));
    tr.setAttribute("aria-expanded", "true");
  }

  function row(d) {
    const what = t(d.violation) + " · " + place(d);
    const thumb = d.thumbnail_url ? SW.el("img", { src: d.thumbnail_url, alt: t("evidence_of", { what }), class: "thumb" }) : "";
    const tr = SW.el("tr", { "data-candidate": d.candidate_id, "data-decision": d.decision, class: "pick", tabindex: "0", "aria-expanded": "false" },
      SW.el("td", {}, thumb), SW.el("td", { text: SW.fmtDate(d.decided_at) }), SW.el("td", { text: "#" + d.candidate_id }),
      SW.el("td", { class: "place", text: place(d) }), SW.el("td", { text: t(d.violation) }),
      SW.el("td", { class: "dec " + d.decision, text: t(d.decision) }), issued(d), SW.el("td", { text: d.reason ? t(d.reason) : "" }),
      SW.el("td", { text: d.note || "" }), SW.el("td", { class: "by", text: d.decided_by }));
    tr.addEventListener("click", (ev) => { if (!ev.target.closest("a")) toggle(tr, d); });
    tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") toggle(tr, d); });
    return tr;
  }

  async function load(reset) {
    if (reset) cursor = null;
    const r = await SW.api("GET", "/api/v1/decisions?" + params());
    if (!r.ok) { SW.toast(t("error", { detail: SW.explain(r) }), "error"); return; }
    const body = $("history-rows");
    if (reset) body.replaceChildren();
    body.append(...r.data.items.map(row));
    cursor = r.data.next_cursor;
    $("load-more").hidden = !cursor;
    $("history-empty").hidden = body.children.length > 0;
  }

  $("h-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load(true), 250); });
  $("h-decision").addEventListener("change", () => load(true));
  $("h-reason").addEventListener("change", () => load(true));
  $("h-from").addEventListener("change", () => load(true));
  $("h-to").addEventListener("change", () => load(true));
  $("load-more").addEventListener("click", () => load(false));
  window.addEventListener("langchange", () => load(true));
  await load(true);
})();
