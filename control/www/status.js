// The status page: fetches the read-only JSON endpoints every 2 s and redraws the
// tables; the last hour's graphs (dygraphs, served by lbd) from /api/history every
// 10 s. Text only goes in through textContent (never as HTML).
"use strict";

const REFRESH_MS = 2000;
const HISTORY_MS = 10000;
let actions = false;    // the appliance takes actions (HTTPS, with a users file)

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function num(v) {
  if (typeof v !== "number") return "";
  return v.toLocaleString("en-US");
}

function bytes(v) {
  if (typeof v !== "number") return "";
  const u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + u[i];
}

// Bytes per second on an axis: a fraction of a byte shows as one.
function byteRate(v) {
  return typeof v === "number" && v > 0 && v < 10 ? v.toFixed(1) + " B" : bytes(v);
}

function ago(ms) {
  if (typeof ms !== "number") return "";
  if (ms < 1000) return ms + " ms ago";
  if (ms < 120000) return (ms / 1000).toFixed(1) + " s ago";
  return Math.round(ms / 60000) + " min ago";
}

function duration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
  const m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (s % 60) + "s";
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    if (c instanceof Node) { const td = document.createElement("td"); td.appendChild(c); tr.appendChild(td); }
    else if (Array.isArray(c)) tr.appendChild(el("td", c[0], c[1]));
    else tr.appendChild(el("td", c));
  }
  return tr;
}

function fill(id, rows) {
  const tbody = document.querySelector("#" + id + " tbody");
  tbody.replaceChildren(...rows);
}

function ports(list) {
  return (list || []).join(", ");
}

async function get(path) {
  const r = await fetch(path, {cache: "no-store"});
  const j = await r.json();
  if (!j.ok) throw new Error(path + ": " + (j.error ? j.error.message : r.status));
  return j.result;
}

function draw(status, services, stats, health) {
  document.getElementById("name").textContent = status.name;
  document.getElementById("version").textContent = "lbd " + status.version;
  document.title = status.name + " - lbd status";
  document.getElementById("summary").textContent =
    "up " + duration(status.uptime_s) + ", " + status.workers + " worker(s), " +
    status.virtual_services + " virtual service(s), HA " + status.ha.state;

  const conf = new Map(services.map(v => [v.label, v]));
  httpServices = new Set(services.filter(v => v.layer === 7 && v.mode === "http")
                                 .map(v => v.label));
  const checks = new Map(health.map(h => [h.vs + "/" + h.rs, h]));
  const svcRows = [], rsRows = [];
  for (const v of stats.virtual_services) {
    const c = conf.get(v.label) || {};
    const up = v.real_servers.filter(s => s.health !== "down").length;
    const mode = c.layer === 7 ? "7 / " + c.mode : c.layer === 4 ? "4 / " + c.forwarding : "";
    svcRows.push(row([v.label, c.ip || "", ports(c.ports), c.protocol || "", mode,
                      c.scheduler || "", up + " / " + v.real_servers.length,
                      [num(v.active_conns), "n"], [num(v.total_conns), "n"],
                      [bytes(v.bytes_in), "n"], [bytes(v.bytes_out), "n"]]));
    for (const s of v.real_servers) {
      const h = checks.get(v.label + "/" + s.label) || {};
      let last = s.last_check || "";
      if (h.last_check_ms_ago !== undefined) last += ", " + ago(h.last_check_ms_ago);
      if (h.check) last = h.check + ": " + last;
      const cells = [v.label, s.label, s.ip + ":" + (s.port === null ? "(client's)" : s.port),
                     [num(s.weight), "n"], [s.state, s.state], [s.health, s.health], last,
                     [num(s.active_conns), "n"], [num(s.total_conns), "n"],
                     [bytes(s.bytes_in), "n"], [bytes(s.bytes_out), "n"]];
      if (actions) cells.push(controls(v.label, s));
      rsRows.push(row(cells));
    }
  }
  fill("services", svcRows);
  fill("servers", rsRows);

  fill("workers", stats.workers.map(w => {
    const drops = Object.values(w.drops || {}).reduce((a, b) => a + b, 0);
    return row([w.worker, [w.lcore, "n"], [num(w.rx_packets), "n"], [num(w.tx_packets), "n"],
                [num(w.l4_conns_active), "n"], [num(w.proxy_sessions), "n"],
                [num(w.mbufs_in_use) + " / " + num(w.mbuf_pool), "n"], [num(drops), "n"]]);
  }));
  const portInfo = new Map((status.ports || []).map(p => [p.port, p]));
  fill("ports", stats.ports.map(p => {
    const i = portInfo.get(p.port) || {};
    return row([p.port, i.name || "", [i.link || "", i.link === "up" ? "up" : "down"],
                i.ip || "", [num(p.rx_packets), "n"], [num(p.tx_packets), "n"],
                [num(p.rx_missed), "n"], [num(p.rx_errors + p.tx_errors), "n"]]);
  }));
  fill("drops", Object.entries(stats.drops).filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]).map(([r, n]) => row([r, [num(n), "n"]])));
  document.getElementById("updated").textContent =
    "Last update " + new Date().toLocaleTimeString() + ".";
}

// POST /api/rs: the API's rs.set. The browser asks for the login (HTTP basic).
async function act(change) {
  const msg = document.getElementById("action");
  msg.hidden = false;
  msg.className = "";
  msg.textContent = "Sending " + JSON.stringify(change) + "...";
  try {
    const r = await fetch("/api/rs", {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(change)});
    const text = await r.text();
    let j = null;
    try { j = JSON.parse(text); } catch (e) { /* not JSON: a refusal */ }
    if (j && j.ok) msg.textContent = "Done: " + JSON.stringify(change);
    else {
      msg.className = "error";
      msg.textContent = "Refused (" + r.status + "): " + (j && j.error ? j.error.message : text);
    }
  } catch (e) {
    msg.className = "error";
    msg.textContent = "Failed: " + e.message;
  }
}

function controls(vs, s) {
  const span = document.createElement("span");
  for (const st of ["online", "drain", "halt"]) {
    const b = el("button", st);
    b.disabled = s.state === st;
    b.addEventListener("click", () => {
      if (st === "halt" && !confirm("Halt " + vs + "/" + s.label + "? Its connections are closed."))
        return;
      act({vs: vs, rs: s.label, state: st});
    });
    span.appendChild(b);
  }
  const w = document.createElement("input");
  w.type = "number"; w.min = "0"; w.max = "65535"; w.value = s.weight; w.size = 5;
  const set = el("button", "weight");
  set.addEventListener("click", () => act({vs: vs, rs: s.label, weight: Number(w.value)}));
  span.appendChild(w);
  span.appendChild(set);
  return span;
}

// The graphs of one service: connections, requests and bytes, each from history series.
const HIST_CHARTS = [
  {key: "conns", title: "Connections", unit: num,
   series: [["active_conns", "active"], ["conns_per_s", "new per s"]]},
  {key: "requests", title: "HTTP requests per s", unit: num,
   series: [["requests_per_s", "requests per s"]],
   none: "No requests: not an HTTP mode service"},
  {key: "bytes", title: "Bytes per s", unit: byteRate,
   series: [["bytes_in_per_s", "in (from clients)"], ["bytes_out_per_s", "out (to clients)"]]},
];
const histBoxes = new Map();    // service label -> {box, graphs: {key: Dygraph or null}}
let historyStarted = false;     // the graphs start after the first tables
let httpServices = new Set();   // labels of the HTTP mode services (from /api/services)

function histRows(h, spec, now) {
  const rows = [];
  for (let i = 0; i < h.samples; i++) {
    const r = [new Date(now - h.ago_s[i] * 1000)];
    for (const [k] of spec.series) r.push(h[k][i]);
    rows.push(r);
  }
  return rows;
}

function histBox(label) {
  let b = histBoxes.get(label);
  if (b) return b;
  const box = el("div", null, "hist-vs");
  box.dataset.service = label;
  box.appendChild(el("h3", label));
  const rowEl = el("div", null, "hist-row");
  box.appendChild(rowEl);
  b = {box: box, row: rowEl, graphs: {}, cells: {}};
  for (const spec of HIST_CHARTS) {
    const cell = el("div", null, "hist-chart");
    cell.appendChild(el("h4", spec.title));
    const plot = el("div", null, "hist-plot");
    plot.dataset.chart = spec.key;
    cell.appendChild(plot);
    rowEl.appendChild(cell);
    b.cells[spec.key] = plot;
    b.graphs[spec.key] = null;
  }
  histBoxes.set(label, b);
  return b;
}

function drawHistory(hist) {
  const now = Date.now();
  const root = document.getElementById("history");
  const seen = new Set();
  for (const h of hist.services) {
    const b = histBox(h.label);
    seen.add(h.label);
    root.appendChild(b.box);    // in the reply's order (the config's)
    b.box.dataset.samples = h.samples;
    for (const spec of HIST_CHARTS) {
      const rows = histRows(h, spec, now);
      const known = rows.some(r => r.slice(1).some(v => v !== null));
      const plot = b.cells[spec.key];
      let g = b.graphs[spec.key];
      const none = spec.none && !httpServices.has(h.label);
      if (!known || none) {
        if (g) { g.destroy(); b.graphs[spec.key] = null; }
        plot.className = "hist-none";
        plot.textContent = none ? spec.none : "No samples yet";
        continue;
      }
      if (g) { g.updateOptions({file: rows}); continue; }
      plot.className = "hist-plot";
      plot.textContent = "";
      b.graphs[spec.key] = new Dygraph(plot, rows, {
        labels: ["time"].concat(spec.series.map(s => s[1])),
        includeZero: true, legend: "always",
        labelsSeparateLines: false, drawPoints: true, pointSize: 1.5, strokeWidth: 1.5,
        colors: ["#1f5fa8", "#d9730d"], interactionModel: {},
        axes: {y: {axisLabelFormatter: spec.unit, valueFormatter: spec.unit,
                   axisLabelWidth: 70}},
      });
    }
  }
  for (const [label, b] of histBoxes) {
    if (seen.has(label)) continue;
    for (const g of Object.values(b.graphs)) if (g) g.destroy();
    b.box.remove();
    histBoxes.delete(label);
  }
  document.getElementById("history-note").textContent =
    "Per service: connections, requests and bytes over the last hour, one sample every " +
    hist.interval_s + " s (" + hist.capacity + " kept), from /api/history.";
}

async function refreshHistory() {
  const err = document.getElementById("error");
  try {
    if (typeof Dygraph === "undefined") throw new Error("the graphs' library did not load");
    drawHistory(await get("/api/history"));
  } catch (e) {
    err.textContent = "Cannot draw the graphs: " + e.message;
    err.hidden = false;
  }
  setTimeout(refreshHistory, HISTORY_MS);
}

async function refresh() {
  const err = document.getElementById("error");
  try {
    const [status, services, stats, health] = await Promise.all(
      [get("/api/status"), get("/api/services"), get("/api/stats"), get("/api/health")]);
    draw(status, services, stats, health);
    err.hidden = true;
    if (!historyStarted) { historyStarted = true; refreshHistory(); }
  } catch (e) {
    err.textContent = "Cannot refresh: " + e.message;
    err.hidden = false;
  }
  setTimeout(refresh, REFRESH_MS);
}

async function start() {
  try {
    actions = (await get("/api/actions")).enabled === true;
  } catch (e) {
    actions = false;
  }
  if (actions) {
    document.querySelector("#servers thead tr").appendChild(el("th", "actions"));
    document.getElementById("mode").textContent =
      "Actions need a login (the users file); each one is logged.";
  }
  refresh();
}

start();
