"use strict";
/* The review queue: a claimed working set (current + preloaded), keyboard decisions, live counts.
   Decisions go through a page outbox kept in localStorage: each is sent with its Idempotency-Key and
   retried until the server answers, so a dropped network or a reload never loses one; the unsent ones
   stay listed on screen. A confirmed warn / case / reject can be taken back (`u`) within the server's
   undo window. The reviewer can correct the object's box (`r`, drag on the frame) and class (`c`, a
   number key); the correction travels with the next warn / case / reject, in the outbox too. */
(async function () {
  if (!(await SW.init("queue"))) return;
  const CLAIM_COUNT = 3;
  const $ = (id) => document.getElementById(id);
  let buffer = [];           // claimed candidates, oldest first
  let idx = 0;               // the one on screen
  let evIdx = 0;             // which evidence is large
  let lease = 120;
  let filling = null;
  let refill = false;
  const decided = new Set(); // decided here, maybe not yet acknowledged
  const preloaded = new Set();
  const OUTBOX = "sw_outbox_" + SW.me.username;
  let outbox = [];           // [{key, id, body}] not yet confirmed by the server, oldest first
  try { outbox = JSON.parse(localStorage.getItem(OUTBOX) || "[]").filter((p) => p && p.key && p.id && p.body); } catch (e) { outbox = []; }
  for (const p of outbox) decided.add(p.id);
  let sending = false;
  let retryMs = 500;
  let retryTimer = null;
  let lastDone = null;       // {id, until}: the newest confirmed decision that can still be undone
  const undoToasts = new Map(); // candidate id -> its toast with the undo button
  let wantId = null;         // show this candidate after the next fill (an undone one)
  const fixes = {};          // candidate id -> {label, box}: the reviewer's correction, sent with its next decision
  let drawMode = false;      // after `r`: the next drag on the frame draws the corrected box
  let dragFrom = null;       // [x, y] fractions where the drag started
  const MIN_SIDE = 0.01;     // the server refuses a box under 1 % of the frame on a side

  const filters = () => ({ violation: $("f-violation").value || null, camera_id: $("f-camera").value || null });

  function current() { return buffer[idx] || null; }

  function evidenceList(c) {
    const order = { frame: 0, clip: 0.5, crop: 1, first: 2, before: 3, after: 4, attribution: 5, recheck: 6, clip_recheck: 6.5 };
    const latest = {};
    const many = [];
    for (const e of c.evidence) {
      if (e.kind === "attribution" || e.kind === "recheck" || e.kind === "clip_recheck") many.push(e); else latest[e.kind] = e;  // newest of a kind wins
    }
    return Object.values(latest).concat(many).sort((a, b) => (order[a.kind] ?? 9) - (order[b.kind] ?? 9) || a.id - b.id);
  }

  function preload() {
    for (const c of buffer) for (const e of c.evidence) {
      if (isClip(e)) continue;  // videos load when shown (preload=auto), not as pictures
      if (!preloaded.has(e.url)) { preloaded.add(e.url); const img = new Image(); img.src = e.url; }
    }
  }

  function fmtTime(c) {
    if (c.live) return SW.fmtDate(c.first_seen_at) + " – " + SW.fmtDate(c.last_seen_at);
    return t("recorded") + " " + SW.fmtOffset(c.first_seen) + " – " + SW.fmtOffset(c.last_seen);
  }

  function fmtDuration(sec) {
    return sec >= 120 ? Math.round(sec / 60) + " " + t("minutes") : Math.round(sec) + " " + t("seconds");
  }

  const zonesOf = {};        // camera id -> its zones (polygons in fractions of the frame)
  let pairOn = false;        // before / after side by side at full size instead of the main picture

  /* The candidate's zone over a full-frame picture (a crop has another aspect ratio and gets none). */
  function drawZone(c, e) {
    const svg = $("ev-zone");
    svg.replaceChildren();
    const img = $("ev-main");
    if (!c || !e || !img.naturalWidth || !c.frame_width || !c.frame_height) return;
    if (Math.abs(img.naturalWidth / img.naturalHeight - c.frame_width / c.frame_height) > 0.02) return;
    const z = (zonesOf[c.camera_id] || []).find((x) => x.id === c.zone_id);
    if (!z) return;
    const poly = document.createElementNS("http://www.w3.org/2000/svg", "polygon");
    poly.setAttribute("points", z.polygon.map(([x, y]) => x + "," + y).join(" "));
    poly.setAttribute("class", "ev-zone-poly kind-" + z.kind);
    svg.append(poly);
  }

  function objName(label) {
    const key = "obj_" + label.replace(/[ -]/g, "_");
    return (currentLang() === "zh-CN" && I18N["zh-CN"][key]) || label;
  }

  function fixText(fix) {
    return [fix.label ? objName(fix.label) : null, fix.box ? t("fix_box_drawn") : null].filter(Boolean).join(" · ");
  }

  /* The corrected box (and the one being dragged) over the full frame, in fractions like the zone. */
  function drawFix(c, drag) {
    const svg = $("ev-fix");
    svg.replaceChildren();
    const box = drag || (c && fixes[c.id] && fixes[c.id].box);
    if (!box || !onFrame(c)) return;
    const [x1, y1, x2, y2] = box;
    const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    for (const [k, v] of Object.entries({ x: x1, y: y1, width: x2 - x1, height: y2 - y1 })) rect.setAttribute(k, v);
    rect.setAttribute("class", "ev-fix-box" + (drag ? " drawing" : ""));
    svg.append(rect);
  }

  /* Whether the large picture is the candidate's whole frame (a box on it is a box in the frame). */
  function onFrame(c) {
    const img = $("ev-main");
    const e = c ? evidenceList(c)[evIdx] : null;
    if (!e || !(e.kind === "frame" || e.kind === "clean") || pairOn || !img.naturalWidth) return false;
    return !c.frame_width || Math.abs(img.naturalWidth / img.naturalHeight - c.frame_width / c.frame_height) <= 0.02;
  }

  function startDrawing() {
    const c = current();
    if (!c) return;
    const evs = evidenceList(c);
    const at = evs.findIndex((e) => e.kind === "clean" || e.kind === "frame");
    if (at < 0) { SW.toast(t("fix_no_frame"), "warn"); return; }
    pairOn = false;
    if (evIdx !== at) { evIdx = at; render(); }
    drawMode = true;
    $("ev-frame").classList.add("drawing");
    $("draw-hint").hidden = false;
  }

  function stopDrawing() {
    drawMode = false;
    dragFrom = null;
    $("ev-frame").classList.remove("drawing");
    $("draw-hint").hidden = true;
    drawFix(current());
  }

  function fractionAt(ev) {
    const r = $("ev-main").getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((ev.clientX - r.left) / r.width), clamp((ev.clientY - r.top) / r.height)];
  }

  function dragBox(ev) {
    const [x, y] = fractionAt(ev);
    const [x0, y0] = dragFrom;
    return [Math.min(x0, x), Math.min(y0, y), Math.max(x0, x), Math.max(y0, y)].map((v) => Math.round(v * 1e4) / 1e4);
  }

  $("ev-frame").addEventListener("mousedown", (ev) => {
    if (!drawMode || ev.button !== 0 || !onFrame(current())) return;
    ev.preventDefault();  // no native image drag
    dragFrom = fractionAt(ev);
  });
  document.addEventListener("mousemove", (ev) => { if (drawMode && dragFrom) drawFix(current(), dragBox(ev)); });
  document.addEventListener("mouseup", (ev) => {
    if (!drawMode || !dragFrom) return;
    const box = dragBox(ev);
    const c = current();
    if (box[2] - box[0] < MIN_SIDE || box[3] - box[1] < MIN_SIDE) { dragFrom = null; drawFix(c); SW.toast(t("fix_box_small"), "warn"); return; }
    fixes[c.id] = Object.assign({}, fixes[c.id], { box });
    stopDrawing();
    SW.toast(t("fix_saved", { id: c.id, what: fixText(fixes[c.id]) }));
    render();
  });

  function openClasses() {
    const c = current();
    if (!c) return;
    const choices = c.class_choices || [];
    $("class-list").replaceChildren(...choices.map((label, i) => {
      const b = SW.el("button", { type: "button", "data-class": label }, SW.el("kbd", { text: String(i + 1) }), " " + objName(label));
      b.addEventListener("mousedown", (ev) => ev.preventDefault());
      b.addEventListener("click", () => pickClass(label));
      return SW.el("li", {}, b);
    }));
    $("class-picker").hidden = false;
  }

  function pickClass(label) {
    const c = current();
    $("class-picker").hidden = true;
    if (!c) return;
    fixes[c.id] = Object.assign({}, fixes[c.id], { label });
    SW.toast(t("fix_saved", { id: c.id, what: fixText(fixes[c.id]) }));
    render();
  }

  function showPair(c) {
    const evs = c ? evidenceList(c) : [];
    const pair = ["before", "after"].map((k) => evs.find((e) => e.kind === k)).filter(Boolean);
    const on = pairOn && pair.length === 2;
    $("ev-pair").hidden = !on;
    $("ev-frame").hidden = on;
    if (on) {
      $("ev-pair").replaceChildren(...pair.map((e) => SW.el("figure", { "data-kind": e.kind },
        SW.el("img", { src: e.url, alt: t(e.kind) + " · " + t(c.violation) + " · " + (c.camera_name || c.camera_id) }),
        SW.el("figcaption", { text: t(e.kind) }))));
      $("ev-main-label").textContent = t("before") + " / " + t("after");
    }
    return on;
  }

  const isClip = (e) => !!e && e.kind.startsWith("clip");

  /* The zone and the candidate's box over the video, on a canvas the size of the picture shown. */
  function drawOverlay() {
    const c = current(), video = $("ev-video"), canvas = $("ev-overlay");
    const w = video.clientWidth, h = video.clientHeight;
    canvas.width = w; canvas.height = h;
    canvas.style.width = w + "px"; canvas.style.height = h + "px";
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, w, h);
    if (!c || !w || !h || !video.videoWidth) return;
    // the picture inside the element (controls never letterbox it, but a CSS max-height may)
    const scale = Math.min(w / video.videoWidth, h / video.videoHeight);
    const pw = video.videoWidth * scale, ph = video.videoHeight * scale, ox = (w - pw) / 2, oy = (h - ph) / 2;
    const z = (zonesOf[c.camera_id] || []).find((x) => x.id === c.zone_id);
    if (z) {
      g.beginPath();
      z.polygon.forEach(([x, y], i) => (i ? g.lineTo : g.moveTo).call(g, ox + x * pw, oy + y * ph));
      g.closePath();
      g.fillStyle = z.kind === "no_dumping" ? "rgba(218,54,51,.15)" : "rgba(88,166,255,.15)";
      g.strokeStyle = z.kind === "no_dumping" ? "#ff7b72" : "#58a6ff";
      g.setLineDash([6, 4]); g.lineWidth = 2; g.fill(); g.stroke();
    }
    if (c.box && c.box.length === 4 && c.frame_width && c.frame_height) {
      const [x1, y1, x2, y2] = c.box, sx = pw / c.frame_width, sy = ph / c.frame_height;
      g.setLineDash([]); g.lineWidth = 3; g.strokeStyle = "#ff3b30";
      g.strokeRect(ox + x1 * sx, oy + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    }
    canvas.dataset.drawn = String(Date.now());
  }

  function clipFps(e) {
    const m = /([\d.]+) fps/.exec((e && e.note) || "");
    const fps = m ? parseFloat(m[1]) : 0;
    return fps > 0 ? fps : 25;
  }

  /* One frame back or forward: paused, so the reviewer sees each picture. */
  function stepFrame(dir) {
    const video = $("ev-video");
    if ($("clip-frame").hidden || !video.src) return;
    video.pause();
    const c = current(), e = c && evidenceList(c)[evIdx];
    const step = 1 / clipFps(e);
    video.currentTime = Math.max(0, Math.min((video.duration || 0) - step / 2, video.currentTime + dir * step));
  }

  function showClip(e) {
    const video = $("ev-video");
    $("ev-frame").hidden = true;
    $("clip-frame").hidden = false;
    if (video.getAttribute("src") !== e.url) { video.src = e.url; video.load(); }
    const c = current();
    $("ev-main-label").textContent = t(e.kind) + " · " + t("clip_keys");
    video.setAttribute("aria-label", t(e.kind) + (c ? " · " + t(c.violation) + " · " + (c.camera_name || c.camera_id) : ""));
    drawOverlay();
    document.querySelectorAll("#thumbs figure").forEach((f) => f.classList.toggle("on", f.dataset.ev === String(e.id)));
  }

  function showMain(e) {
    const video = $("ev-video");
    if (!isClip(e)) { video.pause(); $("clip-frame").hidden = true; }
    if (showPair(current())) { $("clip-frame").hidden = true; video.pause(); return; }
    if (isClip(e)) { showClip(e); return; }
    $("ev-frame").hidden = false;
    const img = $("ev-main");
    img.onload = () => { drawZone(current(), e); drawFix(current()); };
    if (!e) { img.removeAttribute("src"); $("ev-main-label").textContent = ""; return; }
    if (img.getAttribute("src") !== e.url) { $("ev-zone").replaceChildren(); $("ev-fix").replaceChildren(); img.src = e.url; }
    else { drawZone(current(), e); drawFix(current()); }
    $("ev-main-label").textContent = t(e.kind) + (e.note ? " · " + e.note : "");
    const c = current();
    img.alt = t(e.kind) + (c ? " · " + t(c.violation) + " · " + (c.camera_name || c.camera_id) + " / " + (c.zone_name || c.zone_id) : "");
    document.querySelectorAll("#thumbs figure").forEach((f) => f.classList.toggle("on", f.dataset.ev === String(e.id)));
  }

  async function correctPlate() {
    const c = current();
    if (!c || c.violation !== "sidewalk_parking") return;
    const old = ((c.attributes || {}).plate || {}).text || "";
    const text = window.prompt(t("plate_prompt"), old);
    if (text === null || text.trim() === "" || text.trim() === old) return;
    const r = await SW.api("PUT", "/api/v1/candidates/" + c.id + "/plate", { text: text.trim() });
    if (!r.ok) { SW.toast(r.status === 422 && currentLang() !== "en" ? t("plate_bad") : SW.explain(r), "warn"); return; }
    c.attributes = Object.assign({}, c.attributes, { plate: { text: text.trim(), corrected_by: "me" } });
    render();
  }

  function render() {
    const c = current();
    $("queue").hidden = !c;
    $("empty").hidden = !!c;
    $("position").textContent = c ? t("position", { n: idx + 1, total: buffer.length }) : "";
    if (drawMode && (!c || String(c.id) !== $("queue").dataset.candidate)) stopDrawing();  // moved on: drop the drawing
    if (!c) return;
    $("queue").dataset.candidate = c.id;
    $("btn-warn").querySelector("span").textContent = t(warnKey(c.violation));
    $("c-title").textContent = "#" + c.id + " · " + t(c.violation);
    const rows = [
      ["camera", (c.camera_name || c.camera_id) + (c.address ? " · " + c.address : "")],
      ["zone", c.zone_name || c.zone_id],
      ["violation", t(c.violation)],
      ["label", objName(c.label)],
      ["time", fmtTime(c)],
      ["duration", fmtDuration(c.last_seen - c.first_seen)],
      ["score", (c.score * 100).toFixed(0) + "%"],
    ];
    const plate = (c.attributes || {}).plate;
    if (c.violation === "sidewalk_parking") {
      rows.push(["plate", plate && plate.text ? plate.text + (plate.corrected_by ? " ✓" : plate.uncertain ? " ⚠ " + t("plate_uncertain") : plate.confidence ? " (" + (plate.confidence * 100).toFixed(0) + "%)" : "") : t("plate_none")]);
    }
    if (fixes[c.id]) rows.push(["correction", fixText(fixes[c.id])]);
    if (c.claim) rows.push(["claim_until", new Date(c.claim.expires_at * 1000).toLocaleTimeString(currentLang() === "en" ? "en-GB" : "zh-CN", { hour12: false })]);
    const noClip = (c.attributes || {}).clip;  // {status: none (snapshot camera) | failed, reason}
    if (noClip) rows.push(["clip", t(noClip.status === "failed" ? "clip_failed" : "clip_none")]);
    const meta = $("meta");
    meta.replaceChildren(...rows.flatMap(([k, v]) => [SW.el("dt", { text: t(k) }), SW.el("dd", { text: v, "data-field": k })]));
    const evs = evidenceList(c);
    const thumbs = $("thumbs");
    const hasPair = evs.some((e) => e.kind === "before") && evs.some((e) => e.kind === "after");
    thumbs.classList.toggle("pair", hasPair);
    thumbs.replaceChildren(...evs.map((e, i) => {
      const fig = isClip(e)
        ? SW.el("figure", { "data-ev": e.id, "data-kind": e.kind, class: "clip-thumb ev-" + e.kind, role: "button", "aria-label": t(e.kind) },
          SW.el("span", { class: "clip-play", text: "▶" }), SW.el("figcaption", { text: t(e.kind) }))
        : SW.el("figure", { "data-ev": e.id, "data-kind": e.kind, class: "ev-" + e.kind },
          SW.el("img", { src: e.url, alt: t(e.kind), loading: "eager" }), SW.el("figcaption", { text: t(e.kind) }));
      fig.addEventListener("click", () => { evIdx = i; showMain(e); });
      return fig;
    }));
    if (evIdx >= evs.length) evIdx = 0;
    showMain(evs[evIdx]);
  }

  async function refreshCounts() {
    const f = filters();
    const q = new URLSearchParams();
    if (f.violation) q.set("violation", f.violation);
    if (f.camera_id) q.set("camera_id", f.camera_id);
    const r = await SW.api("GET", "/api/v1/candidates/stats?" + q);
    if (!r.ok) return;
    $("count-pending").textContent = r.data.pending;
    $("count-available").textContent = r.data.available;
    $("count-mine").textContent = r.data.claimed_by_me;
    $("count-decided").textContent = r.data.decided_by_me_24h;
  }

  async function fill() {
    if (filling) { refill = true; return filling; }  // a filter changed meanwhile: claim again after this one
    filling = (async () => {
      const r = await SW.api("POST", "/api/v1/candidates/claim", { count: CLAIM_COUNT, ...filters() }, { retries: 3, quiet: true });
      if (!r.ok) { if (r.status) SW.toast(SW.explain(r), "error"); else setOffline(true); return; }
      lease = r.data.lease_seconds;
      const cur = current();
      buffer = r.data.items.filter((c) => !decided.has(c.id));
      const at = wantId !== null ? buffer.findIndex((c) => c.id === wantId) : cur ? buffer.findIndex((c) => c.id === cur.id) : -1;
      wantId = null;
      if (at >= 0) idx = at; else { idx = Math.min(idx, Math.max(0, buffer.length - 1)); evIdx = 0; }
      render();
      preload();
    })();
    try { await filling; } finally { filling = null; }
    if (refill) { refill = false; await fill(); }
  }

  /* Vendors and parked drivers are told to move on (劝离); the others get a notice to correct. */
  function warnKey(violation) { return violation === "street_vendor" || violation === "sidewalk_parking" ? "warn_move_on" : "warn"; }

  function decisionText(p) {
    const body = p.body;
    const fix = body.correction ? " · " + t("corrected_as", { what: fixText(body.correction) }) : "";
    if (body.decision === "reject") return t("reject") + "（" + t(body.reason) + "）" + fix;
    return t(body.decision === "warn" ? warnKey(p.violation) : body.decision) + fix;
  }

  function saveOutbox() {
    localStorage.setItem(OUTBOX, JSON.stringify(outbox));
    $("pending-count").textContent = outbox.length;
    $("pending-box").hidden = outbox.length === 0;
    $("pending-list").replaceChildren(...outbox.map((p) => SW.el("li", { "data-candidate": p.id },
      SW.el("b", { text: "#" + p.id }), " · " + decisionText(p) + " · ", SW.el("span", { class: "muted", text: t("unsent") }))));
  }

  function setOffline(off) {
    $("offline").hidden = !off;
    if (off) $("offline-text").textContent = t("offline_banner", { n: outbox.length });
  }

  function retryLater() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, retryMs);
    retryMs = Math.min(5000, retryMs * 2);
  }

  /* Send the outbox in order, one at a time; a network failure or a 5xx keeps the entry and retries. */
  async function flush() {
    if (sending) return;
    sending = true;
    let changed = false;
    try {
      while (outbox.length) {
        const p = outbox[0];
        const r = await SW.api("POST", `/api/v1/candidates/${p.id}/decision`, p.body, { key: p.key, quiet: true });
        if (r.status === 0 || r.status >= 500) { setOffline(true); retryLater(); return; }
        if (r.status === 401) return;  // sent to the login page; the outbox waits in localStorage
        retryMs = 500;
        setOffline(false);
        outbox.shift();
        saveOutbox();
        confirmed(p, r);
        changed = true;
      }
    } finally {
      sending = false;
      if (changed) { refreshCounts(); fill(); }
    }
  }

  function confirmed(p, r) {
    const id = p.id, kind = p.body.decision;
    if (r.ok) {
      if (kind === "skip") { decided.delete(id); SW.toast(t("decided_skip", { id })); return; }
      const msg = kind === "reject" ? t("decided_reject", { id, reason: t(p.body.reason) })
        : t(kind === "warn" && warnKey(p.violation) === "warn_move_on" ? "decided_move_on" : "decided_" + kind, { id });
      const until = r.data.undo_until ? Date.parse(r.data.undo_until) : 0;
      if (p.undo) { undo(id); return; }
      if (until > Date.now()) {
        lastDone = { id, until };
        undoToasts.set(id, SW.toast(msg, "ok", { label: t("undo_button"), until, run: () => undo(id) }));
      } else SW.toast(msg);
      return;
    }
    if (r.status !== 409) decided.delete(id);  // refused: it comes back to be decided again
    SW.toast(t("not_decided", { id, why: SW.explain(r) }), "error");
  }

  async function decide(kind, reason) {
    const c = current();
    if (!c) return;
    if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    const body = { decision: kind, reason: reason || null, note: $("note").value.trim() || null };
    if (kind !== "skip" && fixes[c.id]) {  // a skip leaves the correction here, for when it comes back
      body.correction = { label: fixes[c.id].label || null, box: fixes[c.id].box || null };
      delete fixes[c.id];
    }
    if (drawMode) stopDrawing();
    outbox.push({ key: SW.uuid(), id: c.id, violation: c.violation, body });
    saveOutbox();
    decided.add(c.id);
    buffer.splice(idx, 1);            // the next one is already loaded: show it at once
    if (idx >= buffer.length) idx = Math.max(0, buffer.length - 1);
    evIdx = 0;
    $("note").value = "";
    render();
    flush();
  }

  /* Take back the newest decision (or `id`): still unsent → after it is confirmed; else ask the server. */
  async function undo(id) {
    if (id === undefined) {
      const unsent = outbox[outbox.length - 1];
      if (unsent && unsent.body.decision !== "skip") { unsent.undo = true; saveOutbox(); SW.toast(t("undo_queued", { id: unsent.id })); return; }
      if (!lastDone || lastDone.until <= Date.now()) { SW.toast(t("undo_nothing"), "warn"); return; }
      id = lastDone.id;
    }
    const r = await SW.api("POST", `/api/v1/candidates/${id}/decision/undo`, null, { retries: 3, quiet: true });
    if (!r.ok) { SW.toast(t("undo_failed", { id, why: SW.explain(r) }), "error"); return; }
    if (lastDone && lastDone.id === id) lastDone = null;
    if (undoToasts.has(id)) { const el = undoToasts.get(id); if (el) el.remove(); undoToasts.delete(id); }
    decided.delete(id);
    wantId = id;
    SW.toast(t("undone", { id }));
    await fill();
    refreshCounts();
  }

  function openReasons() {
    if (!current()) return;
    $("reason-picker").hidden = false;
  }
  function closeOverlays() { $("reason-picker").hidden = true; $("help").hidden = true; $("class-picker").hidden = true; }

  /* Esc: stop drawing, else close what is open, else drop the current candidate's correction. */
  function escape() {
    if (drawMode) { stopDrawing(); return; }
    const open = ["reason-picker", "help", "class-picker"].some((id) => !$(id).hidden);
    const c = current();
    if (!open && c && fixes[c.id]) { delete fixes[c.id]; SW.toast(t("fix_cleared", { id: c.id })); render(); return; }
    closeOverlays();
  }

  document.querySelectorAll("#reason-picker [data-reason]").forEach((b) =>
    b.addEventListener("click", () => { closeOverlays(); decide("reject", b.dataset.reason); }));
  $("reason-cancel").addEventListener("click", closeOverlays);
  $("class-cancel").addEventListener("click", closeOverlays);
  // a click never leaves the keyboard focus on a button: Enter / Space afterwards decide nothing
  document.querySelectorAll("button").forEach((b) => b.addEventListener("mousedown", (ev) => ev.preventDefault()));
  $("btn-warn").addEventListener("click", () => decide("warn"));
  $("btn-case").addEventListener("click", () => decide("case"));
  $("btn-reject").addEventListener("click", openReasons);
  $("btn-skip").addEventListener("click", () => decide("skip"));
  $("help-button").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });

  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (typing) { if (ev.key === "Escape") document.activeElement.blur(); return; }
    const k = ev.key;
    if (!$("reason-picker").hidden) {
      const reasons = { 1: "false_detection", 2: "not_a_violation", 3: "duplicate", 4: "other", f: "false_detection", n: "not_a_violation", d: "duplicate", o: "other" };
      if (reasons[k]) { ev.preventDefault(); closeOverlays(); decide("reject", reasons[k]); } else if (k === "Escape") closeOverlays();
      return;
    }
    if (!$("class-picker").hidden) {
      const label = /^[1-9]$/.test(k) ? (current() || {}).class_choices?.[Number(k) - 1] : null;
      if (label) { ev.preventDefault(); pickClass(label); } else if (k === "Escape") closeOverlays();
      return;
    }
    if (drawMode && k === "Escape") { ev.preventDefault(); stopDrawing(); return; }
    if (!$("help").hidden) { if (k === "Escape" || k === "?") closeOverlays(); return; }
    const actions = {
      1: () => decide("warn"), 2: () => decide("case"), 3: openReasons, x: openReasons, s: () => decide("skip"),
      j: () => { if (idx + 1 < buffer.length) { idx++; evIdx = 0; render(); } },
      k: () => { if (idx > 0) { idx--; evIdx = 0; render(); } },
      n: () => $("note").focus(),
      u: () => undo(),
      p: correctPlate,
      b: () => { pairOn = !pairOn; render(); },
      v: () => {  // the clip: show it, then play / pause
        const c = current(); if (!c) return;
        const evs = evidenceList(c), i = evs.findIndex(isClip);
        if (i < 0) { SW.toast(t("clip_none"), "warn"); return; }
        const video = $("ev-video");
        if ($("clip-frame").hidden || evIdx !== i) { pairOn = false; evIdx = i; showMain(evs[i]); video.play().catch(() => {}); }
        else if (video.paused) video.play().catch(() => {}); else video.pause();
      },
      ",": () => stepFrame(-1), ".": () => stepFrame(1),
      e: () => { pairOn = false; const c = current(); if (c) { const evs = evidenceList(c); evIdx = (evIdx + 1) % evs.length; showMain(evs[evIdx]); } },
      r: startDrawing,
      c: openClasses,
      "?": () => { $("help").hidden = false; },
      Escape: escape,
    };
    if (actions[k]) { ev.preventDefault(); actions[k](); }
  });

  // filters: violation types and cameras
  for (const v of SW.VIOLATIONS) {
    $("f-violation").append(SW.el("option", { value: v, "data-i18n": v, text: t(v) }));
  }
  const cams = await SW.api("GET", "/api/v1/cameras");
  if (cams.ok) for (const c of cams.data) zonesOf[c.id] = c.zones;
  if (cams.ok) for (const c of cams.data) $("f-camera").append(SW.el("option", { value: c.id, text: c.name ? `${c.name} (${c.id})` : c.id }));
  for (const id of ["f-violation", "f-camera"]) $(id).addEventListener("change", () => { idx = 0; evIdx = 0; fill(); refreshCounts(); $(id).blur(); });
  window.addEventListener("langchange", render);
  // the overlay follows the video's size (window, layout) and its first picture
  $("ev-video").addEventListener("loadedmetadata", drawOverlay);
  $("ev-video").addEventListener("loadeddata", drawOverlay);
  if (window.ResizeObserver) new ResizeObserver(drawOverlay).observe($("ev-video"));

  // live: a new candidate or someone's decision refreshes the counts at once, and new work is claimed when short
  if (window.EventSource) {
    let known = null;
    const live = new EventSource("/api/v1/events");
    live.addEventListener("queue", (ev) => {
      const st = JSON.parse(ev.data);
      const fresh = known && st.newest_candidate > known.newest_candidate;
      known = st;
      refreshCounts();
      if (fresh && buffer.length < CLAIM_COUNT) {
        const wasEmpty = buffer.length === 0;
        fill().then(() => { if (wasEmpty && buffer.length) SW.toast(t("new_work")); });
      }
    });
  }
  saveOutbox();
  await fill();
  await refreshCounts();
  flush();  // what a closed tab or a reload left unsent
  setInterval(() => { fill(); refreshCounts(); }, Math.max(5, lease / 3) * 1000);  // renews the lease, picks up new work
})();
