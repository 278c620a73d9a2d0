// The status page: fetches the read-only JSON endpoints every 2 s and redraws the
// tables. Text only goes in through textContent (never as HTML).
"use strict";

const REFRESH_MS = 2000;
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

async function refresh() {
  const err = document.getElementById("error");
  try {
    const [status, services, stats, health] = await Promise.all(
      [get("/api/status"), get("/api/services"), get("/api/stats"), get("/api/health")]);
    draw(status, services, stats, health);
    err.hidden = true;
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
