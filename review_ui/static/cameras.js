"use strict";
/* Cameras: the latest snapshot with its zones and masks, and a polygon editor (draw, move, delete,
   kind, dwell). A layer switch chooses what is edited: zones, or masks (grey, hatched: nothing inside
   is analysed); "Suggest masks" reads the stream and offers masks over changing overlay text to
   accept or dismiss. One save stores both. */
(async function () {
  if (!(await SW.init("cameras"))) return;
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";
  const canEdit = ["supervisor", "admin"].includes(SW.me.role);
  const KEEP = ["id", "name", "kind", "polygon", "dwell_seconds", "max_displacement", "min_score", "labels",
                "min_object_area", "max_age_seconds", "sensitivity", "shop_id"];
  let cameras = [];
  let cam = null;
  let zones = [];
  let masks = [];             // [{polygon}] while editing; stored as bare polygons
  let proposals = [];         // suggested masks not yet accepted or dismissed
  let layer = "zone";         // zone | mask: what drawing, selecting and deleting act on
  let version = null;
  let selected = -1;
  let mode = "idle";          // idle | draw
  let drawing = [];
  let drag = null;            // {zone, point|null, start:[x,y], orig:[[x,y]...]}
  let dirty = false;
  let W = 1000, H = 1000;

  document.querySelectorAll(".edit-only").forEach((e) => { e.hidden = !canEdit; });
  const svg = $("overlay");

  function capture(ev) { try { svg.setPointerCapture(ev.pointerId); } catch (e) { /* synthetic pointer */ } }

  function hint() {
    $("editor-hint").textContent = !canEdit ? t("read_only") : mode === "draw" ? t(layer === "mask" ? "mask_draw_hint" : "draw_hint")
      : t(layer === "mask" ? "mask_edit_hint" : "edit_hint");
  }
  const items = () => (layer === "mask" ? masks : zones);
  function setDirty(v) { dirty = v; if (v) $("save-status").textContent = t("unsaved"); }

  function clamp(v) { return Math.min(1, Math.max(0, v)); }
  function toFrac(ev) {
    const r = svg.getBoundingClientRect();
    return [clamp((ev.clientX - r.left) / r.width), clamp((ev.clientY - r.top) / r.height)];
  }
  const round = (v) => Math.round(v * 10000) / 10000;

  function hatch() {
    const defs = document.createElementNS(NS, "defs");
    const pat = document.createElementNS(NS, "pattern");
    const step = Math.max(W, H) / 90;
    Object.entries({ id: "mask-hatch", patternUnits: "userSpaceOnUse", width: step, height: step, patternTransform: "rotate(45)" })
      .forEach(([k, v]) => pat.setAttribute(k, v));
    const bg = document.createElementNS(NS, "rect");
    bg.setAttribute("width", step); bg.setAttribute("height", step); bg.setAttribute("class", "hatch-bg");
    const line = document.createElementNS(NS, "rect");
    line.setAttribute("width", step / 3); line.setAttribute("height", step); line.setAttribute("class", "hatch-line");
    pat.append(bg, line); defs.append(pat);
    return defs;
  }
  function handles(g, list, i, r) {
    list[i].polygon.forEach(([x, y], pi) => {
      const c = document.createElementNS(NS, "circle");
      c.setAttribute("cx", x * W); c.setAttribute("cy", y * H); c.setAttribute("r", r);
      c.setAttribute("class", "handle");
      c.addEventListener("pointerdown", (ev) => {
        ev.stopPropagation();
        drag = { zone: i, point: pi, start: toFrac(ev), orig: list[i].polygon.map((p) => [...p]) };
        capture(ev);
      });
      g.append(c);
    });
  }
  function polygonOf(points, onDown) {
    const poly = document.createElementNS(NS, "polygon");
    poly.setAttribute("points", points.map(([x, y]) => `${x * W},${y * H}`).join(" "));
    if (onDown) poly.addEventListener("pointerdown", onDown);
    return poly;
  }
  function maskParts(r) {
    const parts = masks.map((m, i) => {
      const active = layer === "mask";
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", "mask" + (active ? "" : " inactive") + (active && i === selected ? " selected" : ""));
      g.dataset.mask = String(i);
      g.append(polygonOf(m.polygon, (ev) => {
        if (mode === "draw" || !active) return;
        ev.stopPropagation();
        select(i);
        if (canEdit) { drag = { zone: i, point: null, start: toFrac(ev), orig: m.polygon.map((p) => [...p]) }; capture(ev); }
      }));
      if (active && i === selected && canEdit) handles(g, masks, i, r);
      return g;
    });
    proposals.forEach((m, i) => {
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", "mask proposal");
      g.dataset.proposal = String(i);
      g.append(polygonOf(m.polygon, null));
      parts.push(g);
    });
    return parts;
  }

  function draw() {
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const parts = [hatch()];
    const r = Math.max(W, H) / 110;
    zones.forEach((z, i) => {
      const active = layer === "zone";
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", "zone kind-" + z.kind + (active ? "" : " inactive") + (active && i === selected ? " selected" : ""));
      g.dataset.zone = z.id;
      g.append(polygonOf(z.polygon, (ev) => {
        if (mode === "draw" || !active) return;
        ev.stopPropagation();
        select(i);
        if (canEdit) { drag = { zone: i, point: null, start: toFrac(ev), orig: z.polygon.map((p) => [...p]) }; capture(ev); }
      }));
      const label = document.createElementNS(NS, "text");
      const xs = z.polygon.map((p) => p[0]), ys = z.polygon.map((p) => p[1]);
      const right = Math.min(...xs) > 0.6;  // keep the label inside the picture
      label.setAttribute("x", (right ? Math.max(...xs) * W - r : Math.min(...xs) * W + r));
      label.setAttribute("y", Math.min(...ys) * H + 3 * r);
      label.setAttribute("text-anchor", right ? "end" : "start");
      label.setAttribute("font-size", String(r * 2.6));
      label.textContent = (z.name || z.id) + " · " + t(z.kind);
      g.append(label);
      if (active && i === selected && canEdit) handles(g, zones, i, r);
      parts.push(g);
    });
    parts.push(...maskParts(r));
    if (drawing.length) {
      const pl = document.createElementNS(NS, "polyline");
      pl.setAttribute("points", drawing.map(([x, y]) => `${x * W},${y * H}`).join(" "));
      pl.setAttribute("class", "drawing");
      parts.push(pl);
      drawing.forEach(([x, y]) => {
        const c = document.createElementNS(NS, "circle");
        c.setAttribute("cx", x * W); c.setAttribute("cy", y * H); c.setAttribute("r", r * 0.8); c.setAttribute("class", "handle drawing");
        parts.push(c);
      });
    }
    svg.replaceChildren(...parts);
  }

  function select(i) {
    selected = i;
    const z = layer === "zone" ? zones[i] : undefined;
    $("zone-form").hidden = !z;
    if (z) {
      $("z-id").value = z.id; $("z-name").value = z.name || ""; $("z-kind").value = z.kind;
      $("z-dwell").value = z.dwell_seconds === null || z.dwell_seconds === undefined ? "" : z.dwell_seconds;
      ["z-id", "z-name", "z-kind", "z-dwell"].forEach((id) => { $(id).disabled = !canEdit; });
    }
    draw();
  }

  svg.addEventListener("pointerdown", (ev) => {
    if (!canEdit) return;
    if (mode === "draw") { drawing.push(toFrac(ev)); draw(); return; }
    select(-1);
  });
  svg.addEventListener("dblclick", (ev) => { if (mode === "draw") { ev.preventDefault(); finishDrawing(); } });
  svg.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const [fx, fy] = toFrac(ev);
    const dx = fx - drag.start[0], dy = fy - drag.start[1];
    const z = items()[drag.zone];
    if (drag.point !== null) z.polygon[drag.point] = [round(fx), round(fy)];
    else {
      // move the whole zone, keeping it inside the frame
      const xs = drag.orig.map((p) => p[0]), ys = drag.orig.map((p) => p[1]);
      const mx = Math.min(Math.max(dx, -Math.min(...xs)), 1 - Math.max(...xs));
      const my = Math.min(Math.max(dy, -Math.min(...ys)), 1 - Math.max(...ys));
      z.polygon = drag.orig.map(([x, y]) => [round(x + mx), round(y + my)]);
    }
    drag.moved = true;
    draw();
  });
  svg.addEventListener("pointerup", () => { if (drag && drag.moved) setDirty(true); drag = null; });

  function layerLabels() {
    document.querySelectorAll("#layer-switch button").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.layer === layer)));
    $("new-zone").textContent = t(layer === "mask" ? "new_mask" : "new_zone");
    $("delete-zone").textContent = t(layer === "mask" ? "delete_mask" : "delete_zone");
    hint();
  }
  function setLayer(l) {
    if (mode === "draw") stopDrawing();
    layer = l;
    layerLabels();
    select(-1);
  }
  function startDrawing() { mode = "draw"; drawing = []; select(-1); svg.classList.add("drawing-mode"); hint(); }
  function stopDrawing() { mode = "idle"; drawing = []; svg.classList.remove("drawing-mode"); hint(); draw(); }
  function finishDrawing() {
    // a double-click also added its two clicks as points; drop exact repeats
    const pts = drawing.filter((p, i) => i === 0 || Math.hypot(p[0] - drawing[i - 1][0], p[1] - drawing[i - 1][1]) > 0.003);
    if (pts.length < 3) {  // keep drawing: say what is missing instead of dropping the points
      drawing = pts;
      const key = layer === "mask" ? "mask_too_few" : "zone_too_few";
      SW.toast(t(key, { n: pts.length }), "warn");
      $("editor-hint").textContent = t(key, { n: pts.length });
      draw();
      return;
    }
    if (layer === "mask") {
      masks.push({ polygon: pts.map(([x, y]) => [round(x), round(y)]) });
      stopDrawing();
      select(masks.length - 1);
      setDirty(true);
      return;
    }
    let n = zones.length + 1;
    while (zones.some((z) => z.id === "zone-" + n)) n++;
    zones.push({ id: "zone-" + n, name: null, kind: "sidewalk", polygon: pts.map(([x, y]) => [round(x), round(y)]), dwell_seconds: null });
    stopDrawing();
    select(zones.length - 1);
    setDirty(true);
  }
  function deleteSelected(ask) {
    if (selected < 0) return;
    if (layer === "mask") {
      if (ask && !window.confirm(t("confirm_delete_mask", { n: selected + 1 }))) return;
      masks.splice(selected, 1);
      select(-1);
      setDirty(true);
      return;
    }
    const z = zones[selected];
    if (ask && !window.confirm(t("confirm_delete_zone", { name: z.name || z.id }))) return;
    zones.splice(selected, 1);
    select(-1);
    setDirty(true);
  }

  $("new-zone").addEventListener("click", startDrawing);
  document.querySelectorAll("#layer-switch button").forEach((b) => b.addEventListener("click", () => setLayer(b.dataset.layer)));

  /* Suggestions: the server reads the stream for a while; each proposal is accepted (becomes a mask,
     saved with the next save) or dismissed. */
  function renderProposals() {
    const box = $("proposals");
    box.hidden = !proposals.length;
    const row = (m, i) => SW.el("li", { "data-proposal": String(i) },
      SW.el("span", { text: t("proposal_n", { n: i + 1 }) + " " + m.polygon.map(([x, y]) => `(${x.toFixed(2)}, ${y.toFixed(2)})`).join(" ") }),
      SW.el("button", { type: "button", class: "accept-proposal", text: t("accept") }),
      SW.el("button", { type: "button", class: "dismiss-proposal", text: t("dismiss") }));
    const list = SW.el("ul", {}, ...proposals.map(row));
    list.querySelectorAll("li").forEach((li) => {
      const i = Number(li.dataset.proposal);
      li.querySelector(".accept-proposal").addEventListener("click", () => acceptProposal(i));
      li.querySelector(".dismiss-proposal").addEventListener("click", () => { proposals.splice(i, 1); renderProposals(); draw(); });
    });
    box.replaceChildren(SW.el("b", { text: t("proposals_title") }), list);
  }
  function acceptProposal(i) {
    const [m] = proposals.splice(i, 1);
    masks.push({ polygon: m.polygon });
    if (layer !== "mask") setLayer("mask");
    renderProposals();
    select(masks.length - 1);
    setDirty(true);
  }
  async function suggestMasks() {
    const seconds = 60;
    $("suggest-masks").disabled = true;
    $("save-status").textContent = t("suggesting", { s: seconds });
    const r = await SW.api("GET", `/api/v1/cameras/${encodeURIComponent(cam.id)}/masks/suggestions?seconds=${seconds}`);
    $("suggest-masks").disabled = false;
    if (!r.ok) {
      $("save-status").textContent = t("suggest_failed", { detail: SW.explain(r) });
      SW.toast(t("suggest_failed", { detail: SW.explain(r) }), "error");
      return;
    }
    proposals = r.data.masks.map((p) => ({ polygon: p }));
    const msg = proposals.length ? t("suggested", { n: proposals.length, s: r.data.seconds }) : t("suggested_none", { s: r.data.seconds });
    $("save-status").textContent = msg;
    SW.toast(msg);
    renderProposals();
    draw();
  }
  $("suggest-masks").addEventListener("click", suggestMasks);
  $("delete-zone").addEventListener("click", () => deleteSelected(true));
  $("save-zones").addEventListener("click", save);
  $("refresh-snapshot").addEventListener("click", () => loadSnapshot());
  $("z-id").addEventListener("input", () => { if (selected >= 0 && layer === "zone") { zones[selected].id = $("z-id").value.trim(); setDirty(true); draw(); } });
  $("z-name").addEventListener("input", () => { if (selected >= 0 && layer === "zone") { zones[selected].name = $("z-name").value || null; setDirty(true); draw(); } });
  $("z-kind").addEventListener("change", () => { if (selected >= 0 && layer === "zone") { zones[selected].kind = $("z-kind").value; setDirty(true); draw(); } });
  $("z-dwell").addEventListener("input", () => {
    if (selected < 0 || layer !== "zone") return;
    const v = $("z-dwell").value.trim();
    zones[selected].dwell_seconds = v === "" ? null : Number(v);
    setDirty(true);
  });
  $("zone-form").addEventListener("submit", (ev) => ev.preventDefault());

  document.addEventListener("keydown", (ev) => {
    const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (typing) { if (ev.key === "Escape") document.activeElement.blur(); return; }
    if (mode === "draw") {
      if (ev.key === "Enter") { ev.preventDefault(); finishDrawing(); } else if (ev.key === "Escape") stopDrawing();
      return;
    }
    // Delete removes the selected zone; Backspace (easily pressed by mistake) asks first
    if ((ev.key === "Delete" || ev.key === "Backspace") && canEdit) { ev.preventDefault(); deleteSelected(ev.key === "Backspace"); }
  });

  async function save() {
    const body = { zones: zones.map((z) => Object.fromEntries(KEEP.filter((k) => k in z && z[k] !== undefined).map((k) => [k, z[k]]))),
                   masks: masks.map((m) => m.polygon), expected_version: version };
    const r = await SW.api("PUT", `/api/v1/cameras/${encodeURIComponent(cam.id)}/zones`, body);
    if (r.ok) {
      version = r.data.zones_version;
      zones = r.data.zones;
      masks = r.data.masks.map((p) => ({ polygon: p }));
      cam = r.data;
      cameras = cameras.map((c) => (c.id === cam.id ? cam : c));
      renderList();
      dirty = false;
      $("save-status").textContent = t("saved", { v: version });
      select(Math.min(selected, items().length - 1));
      SW.toast(t("saved", { v: version }));
    } else {
      $("save-status").textContent = t("save_failed", { detail: SW.explain(r) });
      SW.toast(t("save_failed", { detail: SW.explain(r) }), "error");
    }
  }

  function loadSnapshot() {
    const img = $("snapshot");
    img.onload = () => { W = img.naturalWidth || 1000; H = img.naturalHeight || 1000; $("no-snapshot").hidden = true; img.hidden = false; $("canvas").classList.remove("empty"); draw(); };
    img.onerror = () => { $("no-snapshot").hidden = false; img.hidden = true; W = 1600; H = 900; $("canvas").classList.add("empty"); draw(); };
    img.alt = t("snapshot_of", { name: cam.name || cam.id });
    img.src = cam.snapshot_url + "?t=" + Date.now();
  }

  function open(c) {
    cam = c;
    zones = c.zones.map((z) => ({ ...z }));
    masks = (c.masks || []).map((p) => ({ polygon: p.map((q) => [...q]) }));
    proposals = [];
    renderProposals();
    version = c.zones_version;
    dirty = false;
    $("save-status").textContent = t("version") + " " + version;
    $("cam-title").textContent = (c.name ? c.name + " · " : "") + c.id + (c.health ? " · " + t("cam_" + c.health.state) + (c.health.reason ? "（" + c.health.reason + "）" : "") : "") +
      " · " + t("node") + " " + (c.owner || t("no_node"));
    document.querySelectorAll("#camera-list li").forEach((li) => li.classList.toggle("on", li.dataset.camera === c.id));
    stopDrawing();
    select(-1);
    loadSnapshot();
    hint();
  }

  function stateText(h) {
    return h ? t("cam_" + h.state) + (h.reason ? "：" + h.reason : "") : t("cam_unknown");
  }

  /* One camera in the list: name, zones, and how its stream is doing (state with its reason, lag,
     last frame, which worker runs it). */
  function listItem(c) {
    const h = c.health;
    const facts = [];
    if (h && h.lag_seconds !== null && h.lag_seconds !== undefined) facts.push(t("lag") + " " + h.lag_seconds.toFixed(1) + " " + t("seconds"));
    if (h && h.last_frame_at) facts.push(t("last_frame") + " " + SW.fmtDate(h.last_frame_at));
    if (c.owner) facts.push(t("node") + " " + c.owner);
    const li = SW.el("li", { "data-camera": c.id, "data-state": h ? h.state : "unknown" },
      SW.el("b", { text: c.name || c.id }), SW.el("span", { class: "muted zone-count", text: " " + c.id + " · " + c.zones.length + " " + t("zones") +
        ((c.masks || []).length ? " · " + c.masks.length + " " + t("masks") : "") }),
      SW.el("div", { class: "cam-state st-" + (h ? h.state : "unknown"), text: stateText(h) }),
      facts.length ? SW.el("div", { class: "muted cam-facts", text: facts.join(" · ") }) : null);
    li.addEventListener("click", () => { if (!dirty || confirm(t("unsaved"))) open(c); });
    return li;
  }
  function renderList() {
    $("camera-list").replaceChildren(...cameras.map(listItem));
    if (cam) document.querySelectorAll("#camera-list li").forEach((li) => li.classList.toggle("on", li.dataset.camera === cam.id));
  }

  /* Every camera's current picture at a glance; a click opens it in the editor. */
  function renderGrid() {
    $("snap-grid").replaceChildren(...cameras.map((c) => {
      const fig = SW.el("figure", { "data-camera": c.id },
        SW.el("img", { src: c.snapshot_url + "?t=" + Date.now(), alt: t("snapshot_of", { name: c.name || c.id }), loading: "lazy" }),
        SW.el("figcaption", { text: (c.name || c.id) + " · " + stateText(c.health) }));
      fig.querySelector("img").addEventListener("error", (ev) => { ev.target.replaceWith(SW.el("div", { class: "snap-missing", text: t("no_snapshot") })); });
      fig.addEventListener("click", () => { $("snap-grid").hidden = true; $("editor").hidden = false; open(c); });
      return fig;
    }));
  }
  $("show-grid").addEventListener("click", () => {
    const show = $("snap-grid").hidden;
    $("snap-grid").hidden = !show;
    $("editor").hidden = show;
    if (show) renderGrid();
  });

  const r = await SW.api("GET", "/api/v1/cameras");
  if (!r.ok) return;
  cameras = r.data;
  renderList();
  if (cameras.length) open(cameras[0]);
  window.addEventListener("langchange", () => { layerLabels(); renderProposals(); draw(); renderList(); });
  window.addEventListener("beforeunload", (ev) => { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });
})();
