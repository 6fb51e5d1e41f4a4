"use strict";
/* Cameras: the latest snapshot with its zones, and a polygon editor (draw, move, delete, kind, dwell). */
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
    $("editor-hint").textContent = !canEdit ? t("read_only") : mode === "draw" ? t("draw_hint") : t("edit_hint");
  }
  function setDirty(v) { dirty = v; if (v) $("save-status").textContent = t("unsaved"); }

  function clamp(v) { return Math.min(1, Math.max(0, v)); }
  function toFrac(ev) {
    const r = svg.getBoundingClientRect();
    return [clamp((ev.clientX - r.left) / r.width), clamp((ev.clientY - r.top) / r.height)];
  }
  const round = (v) => Math.round(v * 10000) / 10000;

  function draw() {
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    const parts = [];
    const r = Math.max(W, H) / 110;
    zones.forEach((z, i) => {
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", "zone kind-" + z.kind + (i === selected ? " selected" : ""));
      g.dataset.zone = z.id;
      const poly = document.createElementNS(NS, "polygon");
      poly.setAttribute("points", z.polygon.map(([x, y]) => `${x * W},${y * H}`).join(" "));
      poly.addEventListener("pointerdown", (ev) => {
        if (mode === "draw") return;
        ev.stopPropagation();
        select(i);
        if (canEdit) { drag = { zone: i, point: null, start: toFrac(ev), orig: z.polygon.map((p) => [...p]) }; capture(ev); }
      });
      g.append(poly);
      const label = document.createElementNS(NS, "text");
      const xs = z.polygon.map((p) => p[0]), ys = z.polygon.map((p) => p[1]);
      const right = Math.min(...xs) > 0.6;  // keep the label inside the picture
      label.setAttribute("x", (right ? Math.max(...xs) * W - r : Math.min(...xs) * W + r));
      label.setAttribute("y", Math.min(...ys) * H + 3 * r);
      label.setAttribute("text-anchor", right ? "end" : "start");
      label.setAttribute("font-size", String(r * 2.6));
      label.textContent = (z.name || z.id) + " · " + t(z.kind);
      g.append(label);
      if (i === selected && canEdit) z.polygon.forEach(([x, y], pi) => {
        const c = document.createElementNS(NS, "circle");
        c.setAttribute("cx", x * W); c.setAttribute("cy", y * H); c.setAttribute("r", r);
        c.setAttribute("class", "handle");
        c.addEventListener("pointerdown", (ev) => {
          ev.stopPropagation();
          drag = { zone: i, point: pi, start: toFrac(ev), orig: z.polygon.map((p) => [...p]) };
          capture(ev);
        });
        g.append(c);
      });
      parts.push(g);
    });
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
    const z = zones[i];
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
    const z = zones[drag.zone];
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

  function startDrawing() { mode = "draw"; drawing = []; select(-1); svg.classList.add("drawing-mode"); hint(); }
  function stopDrawing() { mode = "idle"; drawing = []; svg.classList.remove("drawing-mode"); hint(); draw(); }
  function finishDrawing() {
    // a double-click also added its two clicks as points; drop exact repeats
    const pts = drawing.filter((p, i) => i === 0 || Math.hypot(p[0] - drawing[i - 1][0], p[1] - drawing[i - 1][1]) > 0.003);
    if (pts.length < 3) {  // keep drawing: say what is missing instead of dropping the points
      drawing = pts;
      SW.toast(t("zone_too_few", { n: pts.length }), "warn");
      $("editor-hint").textContent = t("zone_too_few", { n: pts.length });
      draw();
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
    const z = zones[selected];
    if (ask && !window.confirm(t("confirm_delete_zone", { name: z.name || z.id }))) return;
    zones.splice(selected, 1);
    select(-1);
    setDirty(true);
  }

  $("new-zone").addEventListener("click", startDrawing);
  $("delete-zone").addEventListener("click", () => deleteSelected(true));
  $("save-zones").addEventListener("click", save);
  $("refresh-snapshot").addEventListener("click", () => loadSnapshot());
  $("z-id").addEventListener("input", () => { if (selected >= 0) { zones[selected].id = $("z-id").value.trim(); setDirty(true); draw(); } });
  $("z-name").addEventListener("input", () => { if (selected >= 0) { zones[selected].name = $("z-name").value || null; setDirty(true); draw(); } });
  $("z-kind").addEventListener("change", () => { if (selected >= 0) { zones[selected].kind = $("z-kind").value; setDirty(true); draw(); } });
  $("z-dwell").addEventListener("input", () => {
    if (selected < 0) return;
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
                   expected_version: version };
    const r = await SW.api("PUT", `/api/v1/cameras/${encodeURIComponent(cam.id)}/zones`, body);
    if (r.ok) {
      version = r.data.zones_version;
      zones = r.data.zones;
      cam = r.data;
      cameras = cameras.map((c) => (c.id === cam.id ? cam : c));
      renderList();
      dirty = false;
      $("save-status").textContent = t("saved", { v: version });
      select(Math.min(selected, zones.length - 1));
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
      SW.el("b", { text: c.name || c.id }), SW.el("span", { class: "muted zone-count", text: " " + c.id + " · " + c.zones.length + " " + t("zones") }),
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
  window.addEventListener("langchange", () => { hint(); draw(); renderList(); });
  window.addEventListener("beforeunload", (ev) => { if (dirty) { ev.preventDefault(); ev.returnValue = ""; } });
})();
