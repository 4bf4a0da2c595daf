// The page of `collateral serve`: plain JavaScript over the HTTP API (docs/serve.md). The
// token travels in an HttpOnly cookie the server set when the page was first opened, so every
// fetch here is same-origin and carries it. Text from files or the server is only ever put in
// the page as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const chosen = new Map(); // name -> File or Blob, the files of the new analysis
let polling = null;

function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function api(path, options) {
  const r = await fetch(path, Object.assign({ credentials: "same-origin" }, options || {}));
  const type = r.headers.get("content-type") || "";
  const body = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) {
    const message = body && body.error ? body.error : `${r.status} ${r.statusText}`;
    throw new Error(message);
  }
  return body;
}

function show(view) {
  for (const s of document.querySelectorAll(".view")) s.classList.toggle("hidden", s.id !== view);
  $("nav-new").classList.toggle("current", view === "new");
  $("nav-history").classList.toggle("current", view === "history");
  if (view !== "analysis" && polling) { clearTimeout(polling); polling = null; }
}

// ---- New analysis: files ----

function fileName(file) {
  // A folder chosen or dropped keeps its inner paths (reads/d01.csv), less the folder itself.
  const rel = file.webkitRelativePath || file.name;
  const parts = rel.split("/");
  return parts.length > 1 && file.webkitRelativePath ? parts.slice(1).join("/") : rel;
}

function addFiles(files) {
  for (const f of files) chosen.set(fileName(f), f);
  renderFiles();
}

function renderFiles() {
  const body = $("files").querySelector("tbody");
  body.replaceChildren();
  for (const [name, f] of chosen) {
    const row = el("tr");
    row.append(el("td", name), el("td", `${(f.size / 1024).toFixed(1)} KiB`));
    const remove = el("button", "remove", { type: "button" });
    remove.addEventListener("click", () => { chosen.delete(name); renderFiles(); });
    const cell = el("td"); cell.append(remove); row.append(cell);
    body.append(row);
  }
  $("files").classList.toggle("hidden", chosen.size === 0);
  for (const select of document.querySelectorAll(".file-choice")) {
    const keep = select.value;
    const first = select.options[0];
    select.replaceChildren(first);
    for (const name of chosen.keys()) select.append(el("option", name, { value: name }));
    select.value = [...chosen.keys()].includes(keep) ? keep : "";
  }
  $("validation").classList.add("hidden");
}

// Reads the entries of a dropped folder, recursively, keeping their paths.
async function dropped(items) {
  const out = [];
  async function walk(entry, prefix) {
    if (entry.isFile) {
      const file = await new Promise((ok, bad) => entry.file(ok, bad));
      out.push([prefix + file.name, file]);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, prefix + entry.name + "/");
      }
    }
  }
  const entries = [...items].map((i) => i.webkitGetAsEntry && i.webkitGetAsEntry()).filter(Boolean);
  for (const e of entries) {
    // A single dropped folder: its contents, not the folder, are the analysis's files.
    if (entries.length === 1 && e.isDirectory) {
      const reader = e.createReader();
      for (;;) {
        const batch = await new Promise((ok, bad) => reader.readEntries(ok, bad));
        if (batch.length === 0) break;
        for (const b of batch) await walk(b, "");
      }
    } else {
      await walk(e, "");
    }
  }
  return out;
}

function formData() {
  const data = new FormData();
  for (const [name, f] of chosen) data.append("files", f, name);
  for (const [k, v] of new FormData($("form"))) if (v !== "") data.append(k, v);
  return data;
}

function problemsTable(problems, cls) {
  const wrap = el("div");
  if (!problems || problems.length === 0) return wrap;
  const table = el("table");
  const head = el("tr");
  for (const h of ["file", "line", "plate", "well", cls === "warning" ? "warning" : "problem"]) head.append(el("th", h));
  table.append(head);
  for (const p of problems) {
    const row = el("tr", null, { class: cls });
    for (const k of ["file", "line", "plate", "well", "message"]) row.append(el("td", p[k] == null ? "" : String(p[k])));
    table.append(row);
  }
  wrap.append(table);
  return wrap;
}

// ---- Plate maps: the wells as the readers understood them (`layout` of /api/validate) ----

const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function rowName(r) {
  const A = 65;
  return r < 26 ? String.fromCharCode(A + r) : String.fromCharCode(A + Math.floor(r / 26) - 1) + String.fromCharCode(A + (r % 26));
}

const ROLE_FILL = { vehicle: "#b9e0b0", blank: "#5f6b73", empty: "#ffffff" };

// A drug's hue (golden-angle steps, so neighbours differ) and, per concentration, a lightness
// from pale (lowest) to deep (highest) on a log scale.
function wellColours(layout) {
  const range = new Map();
  for (const p of layout.plates) {
    for (const w of p.wells) {
      if (w[2] !== "sample" || w[4] < 0 || !(w[5] > 0)) continue;
      const r = range.get(w[4]) || [Infinity, -Infinity];
      const x = Math.log10(w[5]);
      range.set(w[4], [Math.min(r[0], x), Math.max(r[1], x)]);
    }
  }
  return (w) => {
    if (w[2] !== "sample") return ROLE_FILL[w[2]] || "#ffffff";
    const hue = w[4] < 0 ? 0 : (w[4] * 137.508) % 360;
    const r = range.get(w[4]);
    const t = r && r[1] > r[0] && w[5] > 0 ? (Math.log10(w[5]) - r[0]) / (r[1] - r[0]) : 0.5;
    return `hsl(${hue.toFixed(1)}, 65%, ${(82 - 47 * t).toFixed(1)}%)`;
  };
}

function drawPlates(box, layout) {
  box.replaceChildren();
  if (!layout || !layout.plates || layout.plates.length === 0) {
    box.append(el("p", "No plate could be drawn (see the problems above)."));
    return;
  }
  const colour = wellColours(layout);
  for (const p of layout.plates) {
    const cell = Math.max(8, Math.min(28, Math.floor(520 / p.columns)));
    const left = 26, top = 16;
    const svg = svgEl("svg", {
      class: "plate", "data-plate": p.plate, width: left + cell * p.columns + 2, height: top + cell * p.rows + 2,
      viewBox: `0 0 ${left + cell * p.columns + 2} ${top + cell * p.rows + 2}`, role: "img",
    });
    const font = Math.min(11, cell - 1);
    for (let c = 0; c < p.columns; c++) {
      if (p.columns > 24 && c % 4 !== 0) continue;
      const t = svgEl("text", { x: left + cell * c + cell / 2, y: top - 4, "text-anchor": "middle", "font-size": font });
      t.textContent = String(c + 1);
      svg.append(t);
    }
    for (let r = 0; r < p.rows; r++) {
      const t = svgEl("text", { x: left - 4, y: top + cell * r + cell / 2 + font / 3, "text-anchor": "end", "font-size": font });
      t.textContent = rowName(r);
      svg.append(t);
    }
    for (const w of p.wells) {
      const [row, col, role, line, drug, conc, read] = w;
      const x = left + cell * col, y = top + cell * row;
      const rect = svgEl("rect", { x, y, width: cell, height: cell, fill: colour(w), stroke: "#cbd2d9", "stroke-width": 0.5, "data-well": rowName(row) + (col + 1), "data-role": role });
      const what = [rowName(row) + (col + 1), role];
      if (line >= 0) what.push(layout.lines[line]);
      if (drug >= 0) what.push(layout.drugs[drug] + (conc == null ? "" : ` ${conc}`));
      if (!read) what.push("no numeric reading");
      const title = svgEl("title");
      title.textContent = what.join(" · ");
      rect.append(title);
      svg.append(rect);
      if (!read) {
        svg.append(svgEl("path", { d: `M${x + 2} ${y + 2}L${x + cell - 2} ${y + cell - 2}M${x + cell - 2} ${y + 2}L${x + 2} ${y + cell - 2}`, stroke: "#b42318", "stroke-width": 1.5 }));
      }
    }
    const fig = el("figure", null, { class: "plate-map" });
    fig.append(svg, el("figcaption", `plate ${p.plate} (${p.rows * p.columns} wells)`));
    box.append(fig);
  }
  if (layout.total > layout.plates.length) {
    box.append(el("p", `The first ${layout.plates.length} of ${layout.total} plates are drawn; every plate is in the text maps below.`));
  }
  if (layout.drugs.length > 0) {
    const legend = el("p", null, { class: "plate-legend" });
    layout.drugs.forEach((d, i) => {
      const swatch = svgEl("svg", { width: 12, height: 12, class: "swatch" });
      swatch.append(svgEl("rect", { width: 12, height: 12, fill: `hsl(${((i * 137.508) % 360).toFixed(1)}, 65%, 50%)` }));
      legend.append(swatch, el("span", ` ${d} `));
    });
    box.append(legend);
  }
}

async function check() {
  if (chosen.size === 0) { alert("Add the files first."); return; }
  $("check").disabled = true;
  try {
    const v = await api("/api/validate", { method: "POST", body: formData() });
    $("validation").classList.remove("hidden");
    const box = $("validation-problems");
    box.replaceChildren();
    const n = (v.problems || []).length;
    box.append(el("p", n === 0 ? "No problems found." : `${n} problem${n === 1 ? "" : "s"} found:`, { class: n ? "problem" : "" }));
    box.append(problemsTable(v.problems, "problem"), problemsTable(v.warnings, "warning"));
    $("summary").textContent = v.summary || "";
    $("maps").textContent = v.maps || "";
    drawPlates($("plate-maps"), v.layout);
    $("assay").textContent = v.assay || "";
    const link = $("assay-download");
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([v.assay || ""], { type: "text/plain" }));
  } catch (e) {
    alert(e.message);
  } finally {
    $("check").disabled = false;
  }
}

async function run(event) {
  event.preventDefault();
  if (chosen.size === 0) { alert("Add the files first."); return; }
  $("run").disabled = true;
  try {
    const created = await api("/api/analyses", { method: "POST", body: formData() });
    location.hash = `#analysis/${created.id}`;
  } catch (e) {
    alert(e.message);
  } finally {
    $("run").disabled = false;
  }
}

async function loadExample() {
  const ex = await api("/api/examples/iwasawa2022-plates");
  chosen.clear();
  for (const f of ex.files) chosen.set(f.name, new Blob([f.text], { type: "text/plain" }));
  renderFiles();
}

// ---- One analysis: progress, problems, results ----

function fileUrl(id, path) {
  return `/api/analyses/${encodeURIComponent(id)}/files/${path.split("/").map(encodeURIComponent).join("/")}`;
}

async function openAnalysis(id) {
  show("analysis");
  $("results").classList.add("hidden");
  $("report").removeAttribute("src");
  let a;
  try {
    a = await api(`/api/analyses/${encodeURIComponent(id)}`);
  } catch (e) {
    $("analysis-name").textContent = "";
    $("analysis-state").textContent = e.message;
    return;
  }
  $("analysis-name").textContent = a.name;
  const state = $("analysis-state");
  state.className = `state ${a.state}`;
  const secs = a.seconds != null ? ` in ${a.seconds.toFixed(1)} s` : "";
  state.textContent = { queued: "Waiting for a free place…", running: "Running…", done: `Done${secs}.`, failed: `Failed${secs}.` }[a.state];
  const p = a.progress || {};
  $("progress").classList.toggle("hidden", a.state !== "running" && (p.stages || []).length === 0);
  $("stage").textContent = p.stage ? `${p.stage}: ${p.done}${p.total ? " of " + p.total : ""} ${p.unit || ""}` : "";
  const bar = $("bar");
  bar.classList.toggle("hidden", !p.stage);
  if (p.total) { bar.max = p.total; bar.value = p.done; } else { bar.removeAttribute("value"); }
  const stages = $("stages");
  stages.replaceChildren();
  for (const s of p.stages || []) stages.append(el("li", `${s.stage}: ${s.count} ${s.unit} in ${s.seconds.toFixed(2)} s`));
  const problems = $("analysis-problems");
  problems.replaceChildren(problemsTable(a.problems, "problem"), problemsTable(a.warnings, "warning"));
  if (a.state === "done") showResults(a);
  if (a.state === "queued" || a.state === "running") {
    polling = setTimeout(() => { if (location.hash === `#analysis/${id}`) openAnalysis(id); }, 250);
  }
}

function showResults(a) {
  $("results").classList.remove("hidden");
  const files = a.files || [];
  $("zip").href = `/api/analyses/${encodeURIComponent(a.id)}/zip`;
  $("assay-input").href = `/api/analyses/${encodeURIComponent(a.id)}/inputs/assay.toml`;
  $("xlsx").classList.toggle("hidden", !files.includes("results.xlsx"));
  $("xlsx").href = fileUrl(a.id, "results.xlsx");
  const hasReport = files.includes("report.html");
  $("report-link").classList.toggle("hidden", !hasReport);
  $("report").classList.toggle("hidden", !hasReport);
  if (hasReport) {
    $("report-link").href = fileUrl(a.id, "report.html");
    if ($("report").getAttribute("src") !== fileUrl(a.id, "report.html")) $("report").src = fileUrl(a.id, "report.html");
  }
  const list = $("outputs");
  list.replaceChildren();
  for (const f of files) {
    const li = el("li");
    li.append(el("a", f, { href: fileUrl(a.id, f), target: "_blank", rel: "noopener" }));
    list.append(li);
  }
}

// ---- History ----

async function history() {
  show("history");
  const body = $("analyses").querySelector("tbody");
  body.replaceChildren();
  const all = await api("/api/analyses");
  $("history-empty").classList.toggle("hidden", all.length > 0);
  for (const a of all) {
    const row = el("tr");
    const open = el("a", a.name, { href: `#analysis/${a.id}` });
    const name = el("td"); name.append(open);
    const when = new Date(a.created * 1000).toLocaleString();
    const del = el("button", "delete", { type: "button" });
    del.addEventListener("click", async () => {
      if (!confirm(`Delete "${a.name}" and its files?`)) return;
      try { await api(`/api/analyses/${encodeURIComponent(a.id)}`, { method: "DELETE" }); history(); } catch (e) { alert(e.message); }
    });
    const actions = el("td"); actions.append(del);
    row.append(name, el("td", when), el("td", a.state, { class: `state ${a.state}` }), actions);
    body.append(row);
  }
}

function route() {
  const hash = location.hash.slice(1);
  if (hash.startsWith("analysis/")) openAnalysis(decodeURIComponent(hash.slice("analysis/".length)));
  else if (hash === "history") history().catch((e) => alert(e.message));
  else show("new");
}

document.addEventListener("DOMContentLoaded", () => {
  $("pick").addEventListener("change", (e) => addFiles(e.target.files));
  $("pick-folder").addEventListener("change", (e) => addFiles(e.target.files));
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    // Dropped folders are walked through their entries; plain files (and drops a script
    // makes, which have no entries) come as files.
    const found = e.dataTransfer.items ? await dropped(e.dataTransfer.items) : [];
    if (found.length) {
      for (const [name, f] of found) chosen.set(name, f);
      renderFiles();
    } else {
      addFiles(e.dataTransfer.files);
    }
  });
  $("example").addEventListener("click", () => loadExample().catch((e) => alert(e.message)));
  $("check").addEventListener("click", check);
  $("form").addEventListener("submit", run);
  window.addEventListener("hashchange", route);
  route();
});
