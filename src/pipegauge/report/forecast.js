/* pipegauge forecast page: vanilla JS and SVG, no dependencies, works from file://.
 *
 * Layout: Format and Fit (pure: numbers, model evaluation, plot geometry),
 * Dom (text is always set as text), the summary, the log-log chart of the
 * selected function and metric (points, fitted curve, interval band,
 * target marker), the function table (click a row to plot it), boot.
 * window.pgForecast exposes the state for tests; window.pgReady turns
 * true once the page is interactive.
 */
"use strict";

const Format = {
  time(s) {
    if (!isFinite(s)) return "-";
    const a = Math.abs(s);
    if (a >= 86400) return (s / 86400).toFixed(1) + " d";
    if (a >= 3600) return (s / 3600).toFixed(1) + " h";
    if (a >= 600) return (s / 60).toFixed(1) + " min";
    if (a >= 1) return s.toFixed(2) + " s";
    if (a >= 1e-3) return (s * 1e3).toFixed(2) + " ms";
    if (a >= 1e-6) return (s * 1e6).toFixed(2) + " \u00b5s";
    return Math.round(s * 1e9) + " ns";
  },
  bytes: Units.bytes,
  count: Units.count,
  size(n) { return n < 1e6 && Number.isInteger(n) ? String(n) : n.toExponential(2).replace(/\.?0+e\+?/, "e"); },
  percent(f) { return isFinite(f) ? (f >= 0.005 || f === 0 ? (100 * f).toFixed(0) + "%" : "<1%") : "-"; },
};

const METRICS = {
  time: { label: "Self time", format: Format.time },
  total: { label: "Total time", format: Format.time },
  calls: { label: "Calls", format: Format.count },
  records: { label: "Records", format: Format.count },
  memory_allocated: { label: "Allocated bytes", format: Format.bytes },
  "mem.alloc_bytes": { label: "Allocated bytes", format: Format.bytes },
  run_time: { label: "Run time", format: Format.time },
  peak_memory: { label: "Peak memory", format: Format.bytes },
};

/* A resource column's format by its unit ("mem.peak_bytes", "cpu.ns", counts). */
function metricFormat(name) {
  if (/bytes$/.test(name)) return Format.bytes;
  if (/\.ns$/.test(name)) return ns => Format.time(ns * 1e-9);
  return Format.count;
}

const CLASSES = ["O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^3)", "O(n^k)"];

const Fit = {
  /* The chosen model of fit at size n (the engine's formulas). */
  /* Whether fit has one model to draw (not "none", not a sum of functions). */
  drawable(fit) { return fit.method !== "sum" && CLASSES.indexOf(fit["class"]) >= 0; },
  value(fit, n) {
    const index = CLASSES.indexOf(fit["class"]);
    if (index < 0 || !fit.models[index]) return NaN;
    const m = fit.models[index];
    const growth = [1, Math.log(n), n, n * Math.log(n), n * n, n * n * n][index];
    return index === 6 ? m.a * Math.pow(n, m.b) : m.a + m.b * growth;
  },
  /* Points of the plot: measured, curve, band, target; log10 coordinates. */
  geometry(fit, target) {
    const points = fit.points.filter(p => p[1] > 0);
    const sizes = fit.points.map(p => p[0]);
    const nMin = Math.min(...sizes), nMax = Math.max(...sizes, target);
    const curve = [];
    if (Fit.drawable(fit)) {
      for (let i = 0; i <= 60; i++) {
        const n = Math.pow(10, Math.log10(nMin) + (Math.log10(nMax) - Math.log10(nMin)) * i / 60);
        const v = Fit.value(fit, n);
        if (v > 0) curve.push([n, v]);
      }
    }
    /* The band opens from the fit at the largest measured size to the
     * prediction interval at the target (interpolated in log-log space). */
    const last = Math.max(...sizes);
    const band = [];
    const atLast = Fit.drawable(fit) ? Fit.value(fit, last) : fit.now;
    if (fit.low > 0 && fit.high > 0 && atLast > 0 && target > last) {
      for (let i = 0; i <= 20; i++) {
        const t = i / 20;
        const n = Math.pow(10, Math.log10(last) + (Math.log10(target) - Math.log10(last)) * t);
        const mid = Fit.drawable(fit) ? Fit.value(fit, n) : atLast * Math.pow(fit.forecast / atLast, t);
        const lo = mid * Math.pow(fit.low / fit.forecast, t), hi = mid * Math.pow(fit.high / fit.forecast, t);
        band.push([n, lo, hi]);
      }
    }
    const values = points.map(p => p[1]).concat(curve.map(p => p[1]), [fit.low, fit.high, fit.forecast].filter(v => v > 0));
    return { points, curve, band, xMin: nMin, xMax: nMax, yMin: Math.min(...values), yMax: Math.max(...values) };
  },
};

const Dom = {
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  },
  svg(tag, attrs) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  },
};

function section(id, title) {
  const body = Dom.el("section", { class: "pg-section", id: "pg-" + id }, Dom.el("h2", { text: title }));
  document.getElementById("pg-sections").append(body);
  return body;
}

function fitLine(label, fit, data, format) {
  if (fit["class"] === "none") return label + ": " + format(fit.now) + " (no model: one size)";
  if (fit.method === "sum") {
    return label + ": " + format(fit.now) + " now \u2192 " + format(fit.forecast) + " at n=" + Format.size(data.target) +
      " (the functions' forecasts added up; the largest grows as " + fit["class"] + "), " +
      Math.round(100 * data.level) + "% interval " + format(fit.low) + " \u2013 " + format(fit.high);
  }
  return label + ": " + format(fit.now) + " now \u2192 " + format(fit.forecast) + " at n=" + Format.size(data.target) +
    ", " + fit["class"] + " (confidence " + Format.percent(fit.confidence) + "), " +
    Math.round(100 * data.level) + "% interval " + format(fit.low) + " \u2013 " + format(fit.high);
}

function renderSummary(data) {
  const body = section("summary", "Scaling forecast");
  body.append(Dom.el("p", { text: "Measured at n = " + data.sizes.map(Format.size).join(", ") + " (" + data.runs.length +
    " runs); forecast for n = " + Format.size(data.target) + "." }));
  if (data.note) body.append(Dom.el("p", { class: "pg-note", id: "pg-note", text: data.note }));
  body.append(Dom.el("p", { id: "pg-run-time", text: fitLine("Run time", data.total_time, data, Format.time) }));
  if (data.peak_memory) body.append(Dom.el("p", { id: "pg-peak-memory", text: fitLine("Peak memory", data.peak_memory, data, Format.bytes) }));
  const growing = data.functions.filter(f => f.grows);
  if (growing.length) {
    const list = Dom.el("ul", { id: "pg-growing" });
    for (const f of growing) {
      list.append(Dom.el("li", { text: f.name + ": " + Format.percent(f.share_now) + " of time now, " +
        Format.percent(f.share_target) + " at n=" + Format.size(data.target) + " (" + f.metrics.time["class"] + ")" }));
    }
    body.append(Dom.el("p", { text: "Growing share of the time:" }), list);
  }
}

const W = 640, H = 320, PAD = { left: 70, right: 20, top: 14, bottom: 40 };

function drawChart(svg, fit, data, format) {
  svg.replaceChildren();
  const g = Fit.geometry(fit, data.target);
  const lx0 = Math.log10(g.xMin) - 0.1, lx1 = Math.log10(g.xMax) + 0.1;
  const ly0 = Math.log10(g.yMin > 0 ? g.yMin : 1e-12) - 0.2, ly1 = Math.log10(g.yMax > 0 ? g.yMax : 1) + 0.2;
  const x = n => PAD.left + (Math.log10(n) - lx0) / (lx1 - lx0) * (W - PAD.left - PAD.right);
  const y = v => H - PAD.bottom - (Math.log10(v) - ly0) / ((ly1 - ly0) || 1) * (H - PAD.top - PAD.bottom);
  svg.append(Dom.svg("rect", { x: PAD.left, y: PAD.top, width: W - PAD.left - PAD.right, height: H - PAD.top - PAD.bottom, class: "pg-plot" }));
  for (let e = Math.ceil(lx0); e <= Math.floor(lx1); e++) {
    svg.append(Dom.svg("line", { x1: x(10 ** e), x2: x(10 ** e), y1: PAD.top, y2: H - PAD.bottom, class: "pg-grid" }));
    const t = Dom.svg("text", { x: x(10 ** e), y: H - PAD.bottom + 16, "text-anchor": "middle", class: "pg-axis" });
    t.textContent = "1e" + e;
    svg.append(t);
  }
  for (let e = Math.ceil(ly0); e <= Math.floor(ly1); e++) {
    svg.append(Dom.svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(10 ** e), y2: y(10 ** e), class: "pg-grid" }));
    const t = Dom.svg("text", { x: PAD.left - 6, y: y(10 ** e) + 4, "text-anchor": "end", class: "pg-axis" });
    t.textContent = format(10 ** e);
    svg.append(t);
  }
  if (g.band.length) {
    const upper = g.band.map(b => x(b[0]) + "," + y(b[2]));
    const lower = g.band.slice().reverse().map(b => x(b[0]) + "," + y(b[1]));
    svg.append(Dom.svg("polygon", { points: upper.concat(lower).join(" "), class: "pg-band" }));
  }
  if (g.curve.length) svg.append(Dom.svg("polyline", { points: g.curve.map(p => x(p[0]) + "," + y(p[1])).join(" "), class: "pg-curve" }));
  for (const p of g.points) svg.append(Dom.svg("circle", { cx: x(p[0]), cy: y(p[1]), r: 3.5, class: "pg-point" }));
  const tx = x(data.target);
  svg.append(Dom.svg("line", { x1: tx, x2: tx, y1: PAD.top, y2: H - PAD.bottom, class: "pg-target" }));
  if (fit.forecast > 0) {
    if (fit.low > 0) svg.append(Dom.svg("line", { x1: tx, x2: tx, y1: y(fit.low), y2: y(fit.high), class: "pg-interval" }));
    svg.append(Dom.svg("circle", { cx: tx, cy: y(fit.forecast), r: 5, class: "pg-forecast" }));
  }
  const label = Dom.svg("text", { x: tx - 4, y: PAD.top + 12, "text-anchor": "end", class: "pg-axis" });
  label.textContent = "target n=" + Format.size(data.target);
  svg.append(label);
  return g;
}

const state = { func: -1, metric: "time", geometry: null };

function renderChart(data) {
  const body = section("fit", "Fit");
  const select = Dom.el("select", { id: "pg-metric", onchange: () => { state.metric = select.value; update(); } });
  const title = Dom.el("div", { id: "pg-chart-title", class: "mono" });
  const svg = Dom.svg("svg", { id: "pg-chart", viewBox: "0 0 " + W + " " + H, width: W, height: H });
  const caption = Dom.el("p", { id: "pg-chart-caption", class: "pg-note" });
  body.append(Dom.el("div", { class: "pg-controls" }, Dom.el("label", { text: "Metric " }, select)), title, svg, caption);
  function series() {
    if (state.func < 0) return { name: "the whole run", fits: { run_time: data.total_time, peak_memory: data.peak_memory } };
    const f = rowsOf(data)[state.func];
    return { name: f.label, fits: f.metrics };
  }
  function update() {
    const s = series();
    select.replaceChildren();
    for (const key of Object.keys(s.fits)) if (s.fits[key]) select.append(Dom.el("option", { value: key, text: METRICS[key] ? METRICS[key].label : key }));
    if (!s.fits[state.metric]) state.metric = select.options[0].value;
    select.value = state.metric;
    const fit = s.fits[state.metric];
    const format = METRICS[state.metric] ? METRICS[state.metric].format : metricFormat(state.metric);
    title.textContent = s.name;
    state.geometry = drawChart(svg, fit, data, format);
    caption.textContent = fitLine(METRICS[state.metric] ? METRICS[state.metric].label : state.metric, fit, data, format) +
      ". Dots: measured runs; line: fitted model; band: prediction interval out to the target (log-log axes).";
  }
  return update;
}

/* Functions, then pipeline stages (labelled "[stage] NAME"): one index space
 * for the table and the chart. */
function rowsOf(data) {
  return data.functions.concat(data.stages || []);
}

function renderTable(data, select) {
  const body = section("functions", "Functions, by forecast self time at n=" + Format.size(data.target) +
    ((data.stages || []).length ? "; then pipeline stages, by own time (shares among the stages)" : ""));
  const head = ["function", "class", "confidence", "now", "forecast", "interval", "share now", "share at target"];
  const table = Dom.el("table", { class: "pg-table", id: "pg-forecast-table" }, Dom.el("thead", null, Dom.el("tr", null, ...head.map(h => Dom.el("th", { text: h })))));
  const tbody = Dom.el("tbody");
  const runRow = Dom.el("tr", { class: "pg-row", onclick: () => select(-1) },
    Dom.el("td", { text: "(the whole run)" }), Dom.el("td", { text: data.total_time["class"] }),
    Dom.el("td", { text: Format.percent(data.total_time.confidence) }), Dom.el("td", { text: Format.time(data.total_time.now) }),
    Dom.el("td", { text: Format.time(data.total_time.forecast) }),
    Dom.el("td", { text: Format.time(data.total_time.low) + " \u2013 " + Format.time(data.total_time.high) }),
    Dom.el("td", { text: "100%" }), Dom.el("td", { text: "100%" }));
  tbody.append(runRow);
  rowsOf(data).forEach((f, index) => {
    const t = f.metrics.time;
    const row = Dom.el("tr", { class: "pg-row" + (f.grows ? " pg-grows" : "") + (f.kind === "stage" ? " pg-stage" : ""), "data-kind": f.kind, onclick: () => select(index) },
      Dom.el("td", { class: "mono", text: f.label }), Dom.el("td", { text: t["class"] }),
      Dom.el("td", { text: Format.percent(t.confidence) }), Dom.el("td", { text: Format.time(t.now) }),
      Dom.el("td", { text: Format.time(t.forecast) }), Dom.el("td", { text: Format.time(t.low) + " \u2013 " + Format.time(t.high) }),
      Dom.el("td", { text: Format.percent(f.share_now) }), Dom.el("td", { text: Format.percent(f.share_target) + (f.grows ? " \u2191" : "") }));
    tbody.append(row);
  });
  table.append(tbody);
  body.append(table);
}

function boot() {
  const data = JSON.parse(document.getElementById("pg-data").textContent);
  document.getElementById("pg-sections").replaceChildren();
  renderSummary(data);
  const update = renderChart(data);
  const select = index => { state.func = index; update(); };
  renderTable(data, select);
  select(rowsOf(data).length ? 0 : -1);
  window.pgForecast = { data, state, select, Fit };
  window.pgReady = true;
  document.documentElement.dataset.pgReady = "true";
}

boot();
