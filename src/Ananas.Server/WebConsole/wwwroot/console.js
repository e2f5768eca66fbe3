// The Ananas web console: reads the server's own counters (/metrics on this control listener) once a second and
// draws them with uPlot; top names from /console/top; purge and plugin actions through the control API. Every request
// carries the control token (Authorization: Bearer) the operator typed in, kept for this tab only (sessionStorage).
"use strict";

const HISTORY = 120; // points kept per chart (two minutes at one per second)
const POLL_MS = 1000;
const TOKEN_KEY = "ananas-control-token";
const $ = (id) => document.getElementById(id);

const state = { previous: null, times: [], series: {}, charts: {}, signedIn: false, lastMetrics: null, samples: 0 };
window.ananasConsole = state; // read back by the browser tests

// ---- control API ----

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = Object.assign({}, options.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store", credentials: "same-origin" }));
  if (response.status === 401 || response.status === 403) {
    showLogin(token ? "The token was not accepted." : "");
    throw new Unauthorized(path);
  }
  return response;
}

function showLogin(message) {
  state.signedIn = false;
  $("login").hidden = false;
  $("pages").hidden = true;
  $("login-error").textContent = message || "";
  $("sign-out").hidden = true;
}

function showPages() {
  state.signedIn = true;
  $("login").hidden = true;
  $("pages").hidden = false;
  $("sign-out").hidden = !sessionStorage.getItem(TOKEN_KEY);
}

// ---- Prometheus text ----

function parseMetrics(text) {
  const metrics = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, "$1");
    if (!metrics.has(m[1])) metrics.set(m[1], []);
    metrics.get(m[1]).push({ labels, value: Number(m[3]) });
  }
  return metrics;
}

const sum = (metrics, name, filter = () => true) =>
  (metrics.get(name) || []).filter((s) => filter(s.labels)).reduce((a, s) => a + s.value, 0);

function groupSum(metrics, name, label) {
  const out = {};
  for (const s of metrics.get(name) || []) out[s.labels[label]] = (out[s.labels[label]] || 0) + s.value;
  return out;
}

/** Cumulative bucket counts by upper bound, hit and miss together. */
function buckets(metrics, name) {
  const byLe = new Map();
  for (const s of metrics.get(name + "_bucket") || []) byLe.set(s.labels.le, (byLe.get(s.labels.le) || 0) + s.value);
  return byLe;
}

/** histogram_quantile over the interval's bucket deltas, in milliseconds (null without observations). */
function quantile(q, now, before) {
  const les = [...now.keys()].sort((a, b) => (a === "+Inf" ? Infinity : Number(a)) - (b === "+Inf" ? Infinity : Number(b)));
  const delta = les.map((le) => (now.get(le) || 0) - ((before && before.get(le)) || 0));
  const total = delta[delta.length - 1];
  if (!(total > 0)) return null;
  const rank = q * total;
  let lower = 0, below = 0;
  for (let i = 0; i < les.length; i++) {
    const upper = les[i] === "+Inf" ? lower : Number(les[i]);
    if (delta[i] >= rank) {
      const inBucket = delta[i] - below;
      const share = inBucket > 0 ? (rank - below) / inBucket : 1;
      return (lower + (upper - lower) * share) * 1000;
    }
    below = delta[i];
    lower = upper;
  }
  return lower * 1000;
}

// ---- charts ----

const PALETTE = ["#2f7d5b", "#d9822b", "#3867d6", "#b33771", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d"];

function ensureChart(id, names) {
  const key = names.join("\u0000");
  const existing = state.charts[id];
  if (existing && existing.key === key) return existing;
  if (existing) existing.plot.destroy();
  const el = $(id);
  const opts = {
    width: Math.max(300, el.clientWidth || 440),
    height: 200,
    series: [{}, ...names.map((n, i) => ({ label: n, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))],
    axes: [{}, { size: 60 }],
    legend: { live: false },
  };
  const data = [state.times.slice(), ...names.map((n) => (state.series[id + ":" + n] || []).slice())];
  const chart = { key, names, plot: new uPlot(opts, data, el) };
  state.charts[id] = chart;
  return chart;
}

function push(id, values) {
  for (const [name, value] of Object.entries(values)) {
    const key = id + ":" + name;
    if (!state.series[key]) state.series[key] = new Array(state.times.length - 1).fill(null);
    state.series[key].push(value);
  }
  for (const key of Object.keys(state.series)) {
    if (!key.startsWith(id + ":")) continue;
    const s = state.series[key];
    while (s.length < state.times.length) s.push(null);
    while (s.length > state.times.length) s.shift();
  }
}

function draw(id, names) {
  if (names.length === 0) return;
  const chart = ensureChart(id, names);
  chart.plot.setData([state.times.slice(), ...names.map((n) => state.series[id + ":" + n].slice())]);
}

// ---- polling ----

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? "–" : n.toLocaleString("en", { maximumFractionDigits: digits }));

async function poll() {
  if (!state.signedIn) return;
  let metrics, upstreams;
  try {
    metrics = parseMetrics(await (await api("/metrics")).text());
    upstreams = (await (await api("/console/upstreams")).json()).upstreams;
  } catch (e) {
    if (!(e instanceof Unauthorized)) $("status").textContent = "server unreachable";
    return;
  }
  const now = Date.now() / 1000;
  const sample = {
    time: now,
    transport: groupSum(metrics, "ananas_queries_total", "transport"),
    rcode: groupSum(metrics, "ananas_queries_total", "rcode"),
    replies: sum(metrics, "ananas_queries_total"),
    hits: sum(metrics, "ananas_cache_hits_total"),
    misses: sum(metrics, "ananas_cache_misses_total"),
    latency: buckets(metrics, "ananas_query_duration_seconds"),
    shed: sum(metrics, "ananas_scheduler_shed_total"),
    queued: sum(metrics, "ananas_scheduler_queued"),
    inFlight: sum(metrics, "ananas_in_flight"),
    pluginCalls: groupSum(metrics, "ananas_plugin_calls_total", "plugin"),
    pluginFaults: groupSum(metrics, "ananas_plugin_faults_total", "plugin"),
    upstreams: Object.fromEntries(upstreams.map((u) => [u.server, u])),
  };
  state.lastMetrics = sample;
  state.samples++;
  $("status").textContent = "live · " + new Date().toLocaleTimeString();
  $("tile-replies").textContent = fmt(sample.replies);
  $("tile-replies").dataset.value = String(sample.replies);
  $("tile-queue").textContent = fmt(sample.inFlight) + " / " + fmt(sample.queued);
  $("tile-shed").textContent = fmt(sample.shed);
  const prev = state.previous;
  state.previous = sample;
  if (!prev) return;
  const dt = Math.max(0.001, now - prev.time);
  const rate = (a, b) => Math.max(0, (a || 0) - (b || 0)) / dt;
  state.times.push(now);
  if (state.times.length > HISTORY) state.times.shift();

  const transports = {};
  for (const t of new Set([...Object.keys(sample.transport), ...Object.keys(prev.transport)])) transports[t] = rate(sample.transport[t], prev.transport[t]);
  push("chart-transport", transports);
  const rcodes = {};
  for (const r of new Set([...Object.keys(sample.rcode), ...Object.keys(prev.rcode)])) rcodes[r] = rate(sample.rcode[r], prev.rcode[r]);
  push("chart-rcode", rcodes);
  const lookups = (sample.hits - prev.hits) + (sample.misses - prev.misses);
  const hitRatio = lookups > 0 ? (100 * (sample.hits - prev.hits)) / lookups : null;
  push("chart-hit", { "hit %": hitRatio });
  const p50 = quantile(0.5, sample.latency, prev.latency), p90 = quantile(0.9, sample.latency, prev.latency), p99 = quantile(0.99, sample.latency, prev.latency);
  push("chart-latency", { p50, p90, p99 });
  const rtt = {};
  for (const [server, u] of Object.entries(sample.upstreams)) {
    const before = prev.upstreams[server];
    const n = u.responses - (before ? before.responses : 0);
    rtt[server] = n > 0 ? (1000 * (u.rttSumSeconds - (before ? before.rttSumSeconds : 0))) / n : null;
  }
  push("chart-upstream", rtt);
  push("chart-scheduler", { queued: sample.queued, "in flight": sample.inFlight, "shed/s": rate(sample.shed, prev.shed) });
  const plugins = {};
  for (const p of Object.keys(sample.pluginCalls)) {
    plugins[p + " calls"] = rate(sample.pluginCalls[p], prev.pluginCalls[p]);
    plugins[p + " faults"] = rate(sample.pluginFaults[p], prev.pluginFaults[p]);
  }
  push("chart-plugins", plugins);

  const qps = rate(sample.replies, prev.replies);
  $("tile-qps").textContent = fmt(qps, 1);
  $("tile-qps").dataset.value = String(qps);
  $("tile-hit-ratio").textContent = hitRatio === null ? "–" : fmt(hitRatio, 1) + " %";
  $("tile-hit-ratio").dataset.value = hitRatio === null ? "" : String(hitRatio);
  $("tile-latency").textContent = p50 === null ? "–" : fmt(p50, 2) + " / " + fmt(p99, 2) + " ms";

  if (document.getElementById("dashboard").hidden) return;
  draw("chart-transport", Object.keys(transports).sort());
  draw("chart-rcode", Object.keys(rcodes).sort());
  draw("chart-hit", ["hit %"]);
  draw("chart-latency", ["p50", "p90", "p99"]);
  draw("chart-upstream", Object.keys(rtt).sort());
  draw("chart-scheduler", ["queued", "in flight", "shed/s"]);
  draw("chart-plugins", Object.keys(plugins).sort());
}

function fillTable(id, rows) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(...rows.map((r) => {
    const tr = document.createElement("tr");
    for (const v of [r.name, fmt(r.count)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.appendChild(td);
    }
    return tr;
  }));
}

async function pollTop() {
  if (!state.signedIn || $("dashboard").hidden) return;
  try {
    const top = await (await api("/console/top?n=15")).json();
    fillTable("top-names", top.names);
    fillTable("top-blocked", top.blocked);
    $("top-clients").hidden = top.clients === null;
    $("top-clients-off").hidden = top.clients !== null;
    if (top.clients) fillTable("top-clients", top.clients);
    $("top-note").textContent = top.sample > 0 ? `Counted from a ${fmt(100 * top.sample, 1)} % sample of the replies since the server started.` : "";
  } catch (e) {
    /* the next poll tries again */
  }
}

// ---- cache purge ----

async function purge(event) {
  event.preventDefault();
  const params = new URLSearchParams({ name: $("purge-name").value.trim() });
  const type = $("purge-type").value.trim();
  if (type) params.set("type", type);
  if ($("purge-subtree").checked) params.set("subtree", "1");
  const result = $("purge-result");
  try {
    const response = await api("/cache/purge?" + params, { method: "POST" });
    const body = await response.json();
    result.className = response.ok ? "" : "error";
    result.textContent = response.ok ? `Purged ${body.records} record set(s) and ${body.answers} cached answer(s).` : body.error;
    result.dataset.state = response.ok ? "done" : "error";
  } catch (e) {
    if (!(e instanceof Unauthorized)) { result.className = "error"; result.textContent = String(e); }
  }
}

// ---- plugins ----

async function loadPlugins() {
  let plugins;
  try {
    plugins = (await (await api("/plugins")).json()).plugins;
  } catch (e) {
    return;
  }
  const body = $("plugin-table").querySelector("tbody");
  body.replaceChildren(...plugins.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.plugin = p.name;
    for (const v of [p.name, p.version, (p.moduleSha256 || "").slice(0, 16), p.instances, fmt(p.calls), fmt(p.faults), p.quarantined ? "yes" : "no"]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.appendChild(td);
    }
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Reload";
    button.addEventListener("click", () => reloadPlugin(p.name));
    td.appendChild(button);
    tr.appendChild(td);
    return tr;
  }));
  if (plugins.length === 0) $("plugin-result").textContent = "No plugins are configured ([[plugin]] in the configuration).";
}

async function reloadPlugin(name) {
  const result = $("plugin-result");
  try {
    const response = await api("/plugins/reload?name=" + encodeURIComponent(name), { method: "POST" });
    const body = await response.json();
    result.className = response.ok ? "" : "error";
    result.textContent = response.ok ? `${name} reloaded: version ${body.version}.` : body.error;
    result.dataset.state = response.ok ? "done" : "error";
  } catch (e) {
    return;
  }
  await loadPlugins();
}

// ---- navigation and start ----

function route() {
  const page = (location.hash || "#dashboard").slice(1);
  for (const section of document.querySelectorAll("section.page")) section.hidden = section.id !== page;
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.getAttribute("href") === "#" + page);
  if (page === "plugins") loadPlugins();
  if (page === "dashboard") pollTop();
}

async function start() {
  // No token yet: the sign-in form at once (a request without one would only be refused).
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    showLogin("");
    return;
  }
  // Probe the API: a 401 shows the sign-in form again (the token was wrong or has changed).
  try {
    await api("/status");
  } catch (e) {
    if (e instanceof Unauthorized) return;
    $("status").textContent = "server unreachable";
  }
  showPages();
  route();
  poll();
  pollTop();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("token").value);
  $("token").value = "";
  start();
});
$("sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin("");
});
$("purge-form").addEventListener("submit", purge);
window.addEventListener("hashchange", route);
setInterval(poll, POLL_MS);
setInterval(pollTop, 2000);
start();
