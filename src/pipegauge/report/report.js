/* pipegauge report: vanilla JS, no dependencies, works from file://.
 *
 * Layout of this file:
 *   1. Format   - number and text formatting (pure)
 *   2. Model    - data transforms on the embedded JSON (pure: no DOM)
 *   3. Dom      - small DOM helpers (text is always set as text, never HTML)
 *   4. Sections - one object per report section: {id, title, available(model),
 *                 render(body, model)}; later sections (resources,
 *                 findings, diff, forecast) are new objects in SECTIONS.
 *   5. Boot     - parse the data, render every available section.
 * window.pgReport exposes the model and section state for tests and
 * debugging; window.pgReady turns true once the page is interactive.
 */
"use strict";

/* ---------------------------------------------------------------- 1. Format */
const Format = {
  /* ns -> "1.23 s" / "4.5 ms" / "12 us" / "80 ns" */
  time(ns) {
    if (!isFinite(ns)) return "-";
    const a = Math.abs(ns);
    if (a >= 1e9) return (ns / 1e9).toFixed(a >= 1e11 ? 1 : 3) + " s";
    if (a >= 1e6) return (ns / 1e6).toFixed(a >= 1e8 ? 1 : 2) + " ms";
    if (a >= 1e3) return (ns / 1e3).toFixed(a >= 1e5 ? 1 : 2) + " \u00b5s";
    return Math.round(ns) + " ns";
  },
  seconds(s) { return Format.time(s * 1e9); },
  bytes: Units.bytes,
  count: Units.count,
  percent(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + "%" : "-"; },
};

/* ----------------------------------------------------------------- 2. Model */
const Model = {
  /* Build the model from the embedded data: typed arrays and child lists. */
  build(data) {
    const n = data.nodes.parent.length;
    const nodes = {
      count: n,
      parent: Int32Array.from(data.nodes.parent),
      func: Int32Array.from(data.nodes.func),
      calls: Float64Array.from(data.nodes.calls),
      total: Float64Array.from(data.nodes.total),
      self: Float64Array.from(data.nodes.self),
      depth: new Int32Array(n),
      childStart: new Int32Array(n + 1),
      children: new Int32Array(Math.max(n - 1, 0)),
    };
    /* Optional per-node metrics (CPU time, allocated bytes): own values,
     * summed over subtrees for the flame graph. */
    nodes.extra = {};
    for (const key of ["cpu", "alloc"]) {
      if (Array.isArray(data.nodes[key])) nodes.extra[key] = Float64Array.from(data.nodes[key]);
    }
    /* Children in CSR form, ordered by total time, largest first. */
    const counts = new Int32Array(n + 1);
    for (let i = 1; i < n; i++) counts[nodes.parent[i] + 1]++;
    for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
    nodes.childStart.set(counts);
    const fill = counts.slice(0, n);
    for (let i = 1; i < n; i++) {
      const p = nodes.parent[i];
      nodes.children[fill[p]++] = i;
      nodes.depth[i] = nodes.depth[p] + 1;
    }
    for (let p = 0; p < n; p++) {
      const a = nodes.childStart[p], b = nodes.childStart[p + 1];
      if (b - a > 1) {
        const part = Array.from(nodes.children.subarray(a, b));
        part.sort((x, y) => nodes.total[y] - nodes.total[x]);
        nodes.children.set(part, a);
      }
    }
    let rootTotal = 0;
    for (let c = nodes.childStart[0]; c < nodes.childStart[1]; c++) rootTotal += nodes.total[nodes.children[c]];
    nodes.total[0] = rootTotal;
    const f = data.functions;
    const functions = { count: f.name.length, columns: f, real: f.name.length - (data.synthetic_functions || 0) };
    const metrics = Model.metrics(nodes);
    return { data, header: data.header, nodes, functions, metrics, tree: data.tree || {}, timeline: data.timeline || null };
  },

  /* Flame-graph metrics that have data: width values per node. */
  metrics(nodes) {
    const list = [
      { key: "total", label: "Total time", width: nodes.total, color: "function", format: Format.time },
      { key: "self", label: "Self time", width: nodes.total, color: "self", format: Format.time },
    ];
    if (nodes.extra.cpu) list.push({ key: "cpu", label: "CPU time", width: Model.subtreeSums(nodes, nodes.extra.cpu), color: "function", format: Format.time });
    if (nodes.extra.alloc) list.push({ key: "alloc", label: "Allocated bytes", width: Model.subtreeSums(nodes, nodes.extra.alloc), color: "function", format: Format.bytes });
    return list;
  },

  /* The timeline's rows to chart: levels (RSS, threads, GPU memory) as
   * stored (maxima per sample), amounts (CPU, I/O, GPU busy) as rates over
   * each sample's length. x: seconds at each sample's middle. */
  timelineSeries(timeline) {
    if (!timeline || !timeline.t_ns || timeline.t_ns.length === 0) return [];
    const dt = timeline.dt_ns;
    const x = timeline.t_ns.map((t, i) => (t + dt[i] / 2) / 1e9);
    const rate = (amounts, scale) => amounts.map((a, i) => (dt[i] > 0 ? a * scale / dt[i] : 0));
    const sum = (a, b) => a.map((v, i) => v + b[i]);
    const series = [
      { id: "rss", title: "Resident memory (RSS)", x, y: timeline.rss_bytes.slice(), format: Format.bytes, summary: "peak" },
      { id: "cpu", title: "CPU (user + system, % of one core)", x, y: rate(sum(timeline.cpu_user_ns, timeline.cpu_system_ns), 100), format: (v) => v.toFixed(0) + "%", summary: "max", floor: 100 },
      { id: "io", title: "I/O (read + write, per second)", x, y: rate(sum(timeline.read_chars, timeline.write_chars), 1e9), format: (v) => Format.bytes(v) + "/s", summary: "max" },
      { id: "threads", title: "Threads", x, y: timeline.threads.slice(), format: (v) => String(Math.round(v)), summary: "max" },
    ];
    (timeline.gpus || []).forEach((gpu, d) => {
      series.push({ id: "gpu" + d + "-util", title: "GPU " + d + " utilisation (" + gpu.name + ")", x, y: rate(gpu.busy_ns, 100), format: (v) => v.toFixed(0) + "%", summary: "max", floor: 100 });
      series.push({ id: "gpu" + d + "-mem", title: "GPU " + d + " memory in use (of " + Format.bytes(gpu.memory_total) + ")", x, y: gpu.memory_bytes.slice(), format: Format.bytes, summary: "peak" });
    });
    return series;
  },

  subtreeSums(nodes, own) {
    const sums = Float64Array.from(own);
    for (let i = nodes.count - 1; i > 0; i--) sums[nodes.parent[i]] += sums[i];
    return sums;
  },

  children(nodes, i) { return nodes.children.subarray(nodes.childStart[i], nodes.childStart[i + 1]); },

  funcName(model, func) { return func < 0 ? "all" : String(model.functions.columns.name[func]); },

  nodeName(model, i) { return i === 0 ? "all" : Model.funcName(model, model.nodes.func[i]); },

  funcLocation(model, func) {
    if (func < 0) return "";
    const c = model.functions.columns;
    return c.kind[func] === 1 ? "(builtin)" : c.file[func] + ":" + c.line[func];
  },

  /* Path from the root to node i, root first. */
  path(nodes, i) {
    const out = [];
    for (let at = i; at >= 0; at = nodes.parent[at]) out.push(at);
    return out.reverse();
  },

  /* Icicle layout under root: frames at least minWidth px wide, in a
   * width-px wide box. Returns [{node, x, w, depth}] with depth from root. */
  layout(nodes, root, widthValues, width, minWidth, maxDepth) {
    const frames = [];
    const scale = widthValues[root] > 0 ? width / widthValues[root] : 0;
    const stack = [[root, 0, 0]];
    while (stack.length) {
      const [i, x, d] = stack.pop();
      const w = widthValues[i] * scale;
      if (w < minWidth) continue;
      frames.push({ node: i, x, w, depth: d });
      if (d >= maxDepth) continue;
      let cx = x;
      const a = nodes.childStart[i], b = nodes.childStart[i + 1];
      for (let c = a; c < b; c++) {
        const child = nodes.children[c];
        const cw = widthValues[child] * scale;
        if (cw < minWidth) break; /* children are sorted by total: the rest are smaller */
        stack.push([child, cx, d + 1]);
        cx += cw;
      }
    }
    return frames;
  },

  /* Set of function indexes whose name or file contains query (case-insensitive). */
  matchFunctions(model, query) {
    const q = query.trim().toLowerCase();
    const matches = new Set();
    if (!q) return matches;
    const c = model.functions.columns;
    for (let f = 0; f < model.functions.count; f++) {
      if (String(c.name[f]).toLowerCase().includes(q) || String(c.file[f]).toLowerCase().includes(q)) matches.add(f);
    }
    return matches;
  },

  /* Time in matching nodes, not counting a match nested under another. */
  matchedTotal(nodes, matches) {
    let sum = 0;
    const covered = new Uint8Array(nodes.count);
    for (let i = 1; i < nodes.count; i++) {
      const p = nodes.parent[i];
      if (covered[p]) { covered[i] = 1; continue; }
      if (matches.has(nodes.func[i])) { covered[i] = 1; sum += nodes.total[i]; }
    }
    return sum;
  },

  /* Differential colour of a function against the baseline: red when its
   * time grew, blue when it shrank, stronger with the change (full at
   * +-50%); grey when there is no change to show (the report passes only
   * changes the statistics flagged). */
  diffColor(change, verdict) {
    if (change == null || !isFinite(change) || change === 0) return "hsl(220,8%,84%)";
    const share = Math.min(Math.abs(change) / 0.5, 1);
    const flagged = verdict === "regressed" || verdict === "improved";
    const hue = change > 0 ? 2 : 216;
    const saturation = flagged ? 85 : 35 + 30 * share;
    const light = flagged ? 58 - 12 * share : 88 - 14 * share;
    return "hsl(" + hue + "," + Math.round(saturation) + "%," + Math.round(light) + "%)";
  },

  /* Per-function diff fields for function index func (none for the
   * "[other]" rows that pruning adds). */
  diffOf(model, func) {
    const d = model.data.diff;
    if (!d || func < 0 || func >= d.functions.verdict.length) return { verdict: "unchanged", change: null, reasons: "" };
    return { verdict: d.functions.verdict[func], change: d.functions.time_change[func], callChange: d.functions.call_change[func], reasons: d.functions.reasons[func] };
  },

  /* Function-table columns that have data. */
  tableColumns(model) {
    const c = model.functions.columns;
    const all = [
      { key: "name", label: "Function", type: "text" },
      { key: "calls", label: "Calls", format: Format.count },
      { key: "self", label: "Self", format: Format.time },
      { key: "total", label: "Total", format: Format.time },
      { key: "p50", label: "p50", format: Format.time },
      { key: "p95", label: "p95", format: Format.time },
      { key: "p99", label: "p99", format: Format.time },
      { key: "max", label: "Max", format: Format.time },
      { key: "cpu", label: "CPU", format: Format.time, optional: true },
      { key: "offcpu", label: "Off-CPU", format: Format.time, optional: true },
      { key: "mem", label: "Memory", format: Format.bytes, optional: true },
      { key: "io", label: "I/O", format: Format.bytes, optional: true },
    ];
    if (model.data.header && model.data.header.sampling) {
      /* sampling mode: no calls or per-call latency were measured */
      const sampled = [
        { key: "name", label: "Function", type: "text" },
        { key: "samples", label: "Samples", format: Format.count },
        { key: "self", label: "Self (est.)", format: Format.time },
        { key: "total", label: "Total (est.)", format: Format.time },
      ];
      return sampled.concat(all.filter((col) => col.optional && Array.isArray(c[col.key])));
    }
    return all.filter((col) => !col.optional || Array.isArray(c[col.key]));
  },

  /* Function indexes filtered by text and sorted by column (desc or asc). */
  tableRows(model, filter, sortKey, descending) {
    const c = model.functions.columns;
    const q = filter.trim().toLowerCase();
    const rows = [];
    for (let f = 0; f < model.functions.real; f++) {
      if (q && !String(c.name[f]).toLowerCase().includes(q) && !String(c.file[f]).toLowerCase().includes(q)) continue;
      rows.push(f);
    }
    const values = c[sortKey];
    const sign = descending ? -1 : 1;
    if (sortKey === "name") {
      rows.sort((a, b) => sign * String(values[a]).localeCompare(String(values[b])) || a - b);
    } else {
      rows.sort((a, b) => sign * (values[a] - values[b]) || a - b);
    }
    return rows;
  },
};

/* ------------------------------------------------------------------- 3. Dom */
const Dom = {
  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (key === "text") node.textContent = value;
        else if (key === "class") node.className = value;
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value);
      }
    }
    for (const child of children) if (child != null) node.append(child);
    return node;
  },
  /* A stable pastel colour per function. */
  functionColor(func) {
    let h = (func * 2654435761) >>> 0;
    const hue = 18 + (h % 40);
    const light = 62 + ((h >>> 8) % 14);
    return "hsl(" + hue + ",80%," + light + "%)";
  },
  heatColor(share) {
    const s = Math.max(0, Math.min(1, share));
    return "hsl(" + Math.round(55 - 55 * s) + ",90%," + Math.round(80 - 25 * s) + "%)";
  },
  tooltip: {
    show(event, lines) {
      const box = document.getElementById("pg-tooltip");
      box.replaceChildren();
      lines.forEach(([label, value], index) => {
        if (index) box.append(Dom.el("br"));
        if (label) box.append(Dom.el("b", { text: label + " " }));
        box.append(document.createTextNode(value));
      });
      box.hidden = false;
      Dom.tooltip.move(event);
    },
    move(event) {
      const box = document.getElementById("pg-tooltip");
      const x = Math.min(event.clientX + 14, window.innerWidth - box.offsetWidth - 8);
      const y = event.clientY + 16 + box.offsetHeight > window.innerHeight ? event.clientY - box.offsetHeight - 10 : event.clientY + 16;
      box.style.left = Math.max(0, x) + "px";
      box.style.top = Math.max(0, y) + "px";
    },
    hide() { document.getElementById("pg-tooltip").hidden = true; },
  },
};

/* -------------------------------------------------------------- 4. Sections */
const HeaderSection = {
  id: "header",
  title: "Run",
  available: () => true,
  /* [label, text] pairs; optional fields only when present. */
  rows(header) {
    const rows = [
      ["Program", header.program],
      ["Command line", (header.argv || []).join(" ")],
      ["When", header.when],
      ["Duration", Format.seconds(header.duration_s)],
      ["Python", header.python],
      ["Backend", header.backend],
      ["Threads", Format.count(header.threads)],
      header.sampling ? ["Sampling", header.sampling + "; times are estimates (samples \u00d7 period), calls not measured"] : ["Profiler overhead", Format.seconds(header.overhead_s) + " (" + Format.percent(header.overhead_s, header.duration_s) + " of the run, " + Format.count(header.events) + " events" + (header.corrected ? ", subtracted from times" : ", not subtracted") + ")"],
      ["Profiler memory", Format.bytes(header.profiler_memory)],
    ];
    if (header.cpu_s != null) rows.push(["CPU time", Format.seconds(header.cpu_s)]);
    if (header.peak_rss_bytes != null) rows.push(["Peak RSS", Format.bytes(header.peak_rss_bytes)]);
    if (header.gpu != null) rows.push(["GPU", String(header.gpu)]);
    if (header.end_reason) rows.push(["Ended", header.end_reason]);
    return rows.filter(([, value]) => value !== "" && value != null);
  },
  render(body, model) {
    const list = Dom.el("dl", { class: "pg-header" });
    for (const [label, value] of HeaderSection.rows(model.header)) list.append(Dom.el("dt", { text: label }), Dom.el("dd", { text: value }));
    body.append(list);
    if (model.tree.pruned) {
      body.append(Dom.el("p", { class: "pg-note", text: "The call tree has " + Format.count(model.tree.nodes) + " paths; the " + Format.count(model.tree.shown) + " largest are shown, smaller ones merged into \u201c[other]\u201d (totals kept). The function table is complete." }));
    }
  },
};

const FlameSection = {
  id: "flame",
  title: "Flame graph",
  available: (model) => model.nodes.count > 1,
  state: null,
  ROW: 18,
  MAX_DEPTH: 256,
  render(body, model) {
    const state = { model, root: 0, metric: model.metrics[0], matches: new Set(), frames: [] };
    FlameSection.state = state;
    const search = Dom.el("input", { type: "search", placeholder: "Search functions\u2026", class: "pg-search", "aria-label": "search functions" });
    const select = Dom.el("select", { class: "pg-metric", "aria-label": "metric" });
    for (const metric of model.metrics) select.append(Dom.el("option", { value: metric.key, text: metric.label }));
    const status = Dom.el("span", { class: "pg-note pg-search-status" });
    const reset = Dom.el("button", { type: "button", text: "Reset zoom" });
    state.crumbs = Dom.el("div", { class: "pg-breadcrumbs" });
    state.box = Dom.el("div", { class: "pg-flame" });
    state.status = status;
    body.append(Dom.el("div", { class: "pg-controls" }, search, select, reset, status), state.crumbs, state.box,
      Dom.el("p", { class: "pg-note", text: "Click a frame to zoom in, a breadcrumb to zoom out. Width is the metric; with \u201cSelf time\u201d the colour shows each frame's own share." }));
    search.addEventListener("input", () => {
      state.matches = Model.matchFunctions(model, search.value);
      FlameSection.describeMatches(state, search.value);
      FlameSection.draw(state);
    });
    select.addEventListener("change", () => {
      state.metric = model.metrics.find((m) => m.key === select.value) || model.metrics[0];
      FlameSection.draw(state);
    });
    reset.addEventListener("click", () => FlameSection.zoom(state, 0));
    state.box.addEventListener("click", (event) => {
      const frame = event.target.closest(".pg-frame");
      if (frame) FlameSection.zoom(state, Number(frame.dataset.node));
    });
    state.box.addEventListener("mousemove", (event) => {
      const frame = event.target.closest(".pg-frame");
      if (!frame) { Dom.tooltip.hide(); return; }
      Dom.tooltip.show(event, FlameSection.tooltipLines(state, Number(frame.dataset.node)));
    });
    state.box.addEventListener("mouseleave", () => Dom.tooltip.hide());
    window.addEventListener("resize", () => FlameSection.draw(state));
    FlameSection.zoom(state, 0);
  },
  zoom(state, node) {
    state.root = node;
    FlameSection.drawCrumbs(state);
    FlameSection.draw(state);
  },
  describeMatches(state, query) {
    if (!query.trim()) { state.status.textContent = ""; return; }
    const nodes = state.model.nodes;
    const total = Model.matchedTotal(nodes, state.matches);
    state.status.textContent = state.matches.size + " functions match, " + Format.percent(total, nodes.total[0]) + " of the time";
  },
  drawCrumbs(state) {
    const { model } = state;
    state.crumbs.replaceChildren();
    Model.path(model.nodes, state.root).forEach((node, index, path) => {
      if (index) state.crumbs.append(Dom.el("span", { class: "sep", text: "\u203a" }));
      const label = Model.nodeName(model, node);
      if (index === path.length - 1) state.crumbs.append(Dom.el("span", { class: "pg-crumb pg-crumb-current", text: label }));
      else state.crumbs.append(Dom.el("a", { class: "pg-crumb", text: label, onclick: () => FlameSection.zoom(state, node) }));
    });
  },
  draw(state) {
    const { model, metric } = state;
    const nodes = model.nodes;
    const width = state.box.clientWidth || 1000;
    const frames = Model.layout(nodes, state.root, metric.width, width, 1, FlameSection.MAX_DEPTH);
    state.frames = frames;
    let maxDepth = 0;
    const fragment = document.createDocumentFragment();
    for (const frame of frames) {
      const func = nodes.func[frame.node];
      const div = document.createElement("div");
      div.className = "pg-frame" + (state.matches.has(func) ? " pg-match" : "");
      div.dataset.node = frame.node;
      div.style.left = frame.x.toFixed(1) + "px";
      div.style.width = Math.max(frame.w - 0.5, 0.5).toFixed(1) + "px";
      div.style.top = frame.depth * FlameSection.ROW + "px";
      div.style.background = metric.color === "self" && frame.node
        ? Dom.heatColor(nodes.total[frame.node] > 0 ? nodes.self[frame.node] / nodes.total[frame.node] : 0)
        : frame.node === 0 ? "#c9cfda" : Dom.functionColor(func);
      if (frame.w > 24) div.textContent = Model.nodeName(model, frame.node);
      fragment.append(div);
      if (frame.depth > maxDepth) maxDepth = frame.depth;
    }
    state.box.classList.toggle("pg-searching", state.matches.size > 0);
    state.box.style.height = (maxDepth + 1) * FlameSection.ROW + 2 + "px";
    state.box.replaceChildren(fragment);
  },
  tooltipLines(state, node) {
    const { model, metric } = state;
    const nodes = model.nodes;
    const func = nodes.func[node];
    const lines = [["", Model.nodeName(model, node)]];
    if (func >= 0) lines.push(["", Model.funcLocation(model, func)]);
    lines.push(["total", Format.time(nodes.total[node]) + " (" + Format.percent(nodes.total[node], nodes.total[0]) + ")"]);
    lines.push(["self", Format.time(nodes.self[node])]);
    if (node && !(model.data.header && model.data.header.sampling)) lines.push(["calls", Format.count(nodes.calls[node])]);
    if (metric.key !== "total" && metric.key !== "self") lines.push([metric.label.toLowerCase(), metric.format(metric.width[node])]);
    return lines;
  },
};

const TreeSection = {
  id: "tree",
  title: "Call tree",
  available: (model) => model.nodes.count > 1,
  MAX_CHILDREN: 100,
  render(body, model) {
    const box = Dom.el("div", { class: "pg-tree", role: "tree" });
    box.append(TreeSection.row(["Function", "Total", "%", "Self", "Calls"], "pg-tree-head"));
    body.append(box);
    const top = Dom.el("div", { class: "pg-tree-children" });
    box.append(top);
    TreeSection.fill(top, model, 0, 0);
    /* Open the hottest path a few levels deep. */
    let container = top;
    for (let level = 0; level < 4 && container; level++) {
      const first = container.querySelector(":scope > .pg-tree-node");
      if (!first) break;
      TreeSection.toggle(first, model);
      container = first.querySelector(":scope > .pg-tree-children");
    }
  },
  row(cells, className) {
    const row = Dom.el("div", { class: "pg-tree-row " + (className || "") });
    cells.forEach((cell, index) => row.append(typeof cell === "string" ? Dom.el("span", { class: index ? "pg-num" : "pg-tree-name", text: cell }) : cell));
    return row;
  },
  fill(container, model, parent, depth) {
    const nodes = model.nodes;
    const kids = Model.children(nodes, parent);
    const shown = Math.min(kids.length, TreeSection.MAX_CHILDREN);
    for (let k = 0; k < shown; k++) {
      const i = kids[k];
      const hasKids = nodes.childStart[i + 1] > nodes.childStart[i];
      const toggle = Dom.el("span", { class: "pg-toggle", text: hasKids ? "\u25b8" : "" });
      const name = Dom.el("span", { class: "pg-tree-name", style: "padding-left:" + depth * 14 + "px", title: Model.funcLocation(model, nodes.func[i]) }, toggle, document.createTextNode(Model.nodeName(model, i)));
      const item = Dom.el("div", { class: "pg-tree-node", role: "treeitem", "data-node": String(i) },
        TreeSection.row([name, Format.time(nodes.total[i]), Format.percent(nodes.total[i], nodes.total[0]), Format.time(nodes.self[i]), model.data.header && model.data.header.sampling ? "-" : Format.count(nodes.calls[i])]));
      if (hasKids) toggle.addEventListener("click", () => TreeSection.toggle(item, model));
      container.append(item);
    }
    if (kids.length > shown) container.append(Dom.el("div", { class: "pg-note", style: "padding-left:" + (depth * 14 + 20) + "px", text: "\u2026 " + (kids.length - shown) + " smaller paths not listed" }));
  },
  toggle(item, model) {
    const node = Number(item.dataset.node);
    const toggle = item.querySelector(".pg-toggle");
    const open = item.querySelector(":scope > .pg-tree-children");
    if (open) { open.remove(); toggle.textContent = "\u25b8"; item.setAttribute("aria-expanded", "false"); return; }
    if (model.nodes.childStart[node + 1] === model.nodes.childStart[node]) return;
    const children = Dom.el("div", { class: "pg-tree-children" });
    TreeSection.fill(children, model, node, model.nodes.depth[node]);
    item.append(children);
    toggle.textContent = "\u25be";
    item.setAttribute("aria-expanded", "true");
  },
};

const TableSection = {
  id: "functions",
  title: "Functions",
  available: (model) => model.functions.real > 0,
  MAX_ROWS: 500,
  state: null,
  render(body, model) {
    const state = { model, sortKey: "self", descending: true, filter: "", columns: Model.tableColumns(model) };
    TableSection.state = state;
    const filter = Dom.el("input", { type: "search", placeholder: "Filter by name or file\u2026", class: "pg-filter", "aria-label": "filter functions" });
    state.count = Dom.el("span", { class: "pg-note pg-table-count" });
    state.table = Dom.el("table", { class: "pg-table" });
    body.append(Dom.el("div", { class: "pg-controls" }, filter, state.count), Dom.el("div", { class: "pg-table-wrap" }, state.table));
    filter.addEventListener("input", () => { state.filter = filter.value; TableSection.draw(state); });
    TableSection.draw(state);
  },
  sortBy(state, key) {
    if (state.sortKey === key) state.descending = !state.descending;
    else { state.sortKey = key; state.descending = key !== "name"; }
    TableSection.draw(state);
  },
  draw(state) {
    const { model, columns } = state;
    const c = model.functions.columns;
    const rows = Model.tableRows(model, state.filter, state.sortKey, state.descending);
    const head = Dom.el("tr");
    for (const col of columns) {
      const cls = col.key === state.sortKey ? (state.descending ? "pg-sorted-desc" : "pg-sorted-asc") : "";
      head.append(Dom.el("th", { class: cls, "data-key": col.key, text: col.label, onclick: () => TableSection.sortBy(state, col.key) }));
    }
    const tbody = Dom.el("tbody");
    const shown = Math.min(rows.length, TableSection.MAX_ROWS);
    for (let r = 0; r < shown; r++) {
      const f = rows[r];
      const tr = document.createElement("tr");
      tr.dataset.func = f;
      if (SourceSection.has(model, f)) tr.className = "pg-has-lines"; /* click: source view */
      for (const col of columns) {
        const td = document.createElement("td");
        if (col.key === "name") {
          td.className = "pg-fn";
          td.title = Model.funcLocation(model, f);
          td.append(document.createTextNode(String(c.name[f]) + " "), Dom.el("span", { class: "pg-file mono", text: Model.funcLocation(model, f) }));
        } else {
          td.textContent = col.format(c[col.key][f]);
        }
        tr.append(td);
      }
      tbody.append(tr);
    }
    state.table.replaceChildren(Dom.el("thead", null, head), tbody);
    state.count.textContent = rows.length > shown
      ? "showing " + shown + " of " + rows.length + " functions"
      : rows.length + " functions";
  },
};

/* Pipeline stages: the verdict, the diagram, the table and a Gantt view of
 * the invocation spans (one row per stage and thread). */
const StageModel = {
  /* Gantt rows: one per (stage, thread) in stage order, then thread order. */
  rows(stages) {
    const keys = new Map();
    for (const span of stages.spans) {
      const key = span.stage + ":" + span.thread;
      if (!keys.has(key)) keys.set(key, { stage: span.stage, thread: span.thread, spans: [] });
      keys.get(key).spans.push(span);
    }
    const rows = Array.from(keys.values());
    rows.sort((a, b) => a.stage - b.stage || a.thread - b.thread);
    return rows;
  },
  extent(stages) {
    let end = 0;
    for (const span of stages.spans) end = Math.max(end, span.end_ns);
    return end;
  },
  ratio(value) { return value == null ? "-" : value.toPrecision(3); },
  rate(value) { return value == null ? "-" : (value >= 100 ? Format.count(value) : value.toPrecision(3)); },
};

const StagesSection = {
  id: "stages",
  title: "Pipeline stages",
  available: (model) => Boolean(model.data.stages && model.data.stages.stages.length),
  COLUMNS: [
    ["Stage", (s) => s.name], ["Calls", (s) => Format.count(s.invocations)],
    ["In", (s) => Format.count(s.records_in)], ["Out", (s) => Format.count(s.records_out)],
    ["Out/in", (s) => StageModel.ratio(s.filter_ratio)], ["Own", (s) => Format.seconds(s.own)],
    ["Upstream wait", (s) => Format.seconds(s.upstream)], ["Suspended", (s) => Format.seconds(s.suspended)],
    ["Records/s (own)", (s) => StageModel.rate(s.throughput_own)],
    ["Records/s (wall)", (s) => StageModel.rate(s.throughput_wall)],
    ["p50", (s) => s.latency.p50_ns != null ? Format.time(s.latency.p50_ns) : "-"],
    ["p99", (s) => s.latency.p99_ns != null ? Format.time(s.latency.p99_ns) : "-"],
    ["Max", (s) => s.latency.max_ns != null ? Format.time(s.latency.max_ns) : "-"],
    ["CPU", (s) => s.cpu != null ? Format.seconds(s.cpu) : "-"],
    ["Allocated", (s) => s.memory != null ? Format.bytes(s.memory) : "not measured"],
    ["I/O read", (s) => s.io_read != null ? Format.bytes(s.io_read) : "-"],
    ["Exceptions", (s) => Format.count(s.exceptions)],
  ],
  render(body, model) {
    const stages = model.data.stages;
    if (stages.auto) body.append(Dom.el("p", { class: "pg-note", text: "No stage was declared: these are the entry function\u2019s direct callees taking at least 1% of the run (declare stages with @pipegauge.stage(\"name\"))." }));
    if (stages.bottleneck) body.append(Dom.el("p", { class: "pg-verdict", text: stages.bottleneck.text }));
    body.append(Dom.el("p", { class: "pg-diagram mono", text: stages.diagram }));
    const head = Dom.el("tr");
    for (const [label] of StagesSection.COLUMNS) head.append(Dom.el("th", { text: label }));
    const tbody = Dom.el("tbody");
    for (const stage of stages.stages) {
      const tr = Dom.el("tr", { "data-stage": stage.name });
      if (stages.bottleneck && stage.name === stages.bottleneck.stage) tr.className = "pg-bottleneck";
      for (const [, cell] of StagesSection.COLUMNS) tr.append(Dom.el("td", { text: cell(stage) }));
      tbody.append(tr);
    }
    body.append(Dom.el("div", { class: "pg-table-wrap" }, Dom.el("table", { class: "pg-table pg-stage-table" }, Dom.el("thead", null, head), tbody)));
    if (stages.spans.length) body.append(StagesSection.gantt(stages));
  },
  /* SVG Gantt: x is time since the run started, one row per stage and
   * thread; a span's darker inner bar is its busy (own) share. */
  gantt(stages) {
    const NS = "http://www.w3.org/2000/svg";
    const svgEl = (tag, attrs) => {
      const node = document.createElementNS(NS, tag);
      for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
      return node;
    };
    const rows = StageModel.rows(stages);
    const extent = StageModel.extent(stages) || 1;
    const LABEL = 200, WIDTH = 1000, ROW = 18, AXIS = 20;
    const svg = svgEl("svg", { class: "pg-gantt", viewBox: "0 0 " + (LABEL + WIDTH) + " " + (rows.length * ROW + AXIS), width: "100%" });
    const threads = new Set(stages.spans.map((s) => s.thread));
    rows.forEach((row, r) => {
      const y = r * ROW;
      const label = svgEl("text", { x: 4, y: y + ROW - 5, class: "pg-gantt-label" });
      const name = stages.stages[row.stage].name;
      label.textContent = threads.size > 1 ? name + " \u00b7 thread " + row.thread : name;
      svg.append(label);
      for (const span of row.spans) {
        const x = LABEL + WIDTH * span.start_ns / extent;
        const w = Math.max(WIDTH * (span.end_ns - span.start_ns) / extent, 0.5);
        const rect = svgEl("rect", { x, y: y + 2, width: w, height: ROW - 4, class: "pg-span", fill: Dom.functionColor(row.stage) });
        const busy = span.end_ns > span.start_ns ? (span.busy_ns / (span.end_ns - span.start_ns)) : 1;
        const inner = svgEl("rect", { x, y: y + 2 + (ROW - 4) * (1 - busy), width: w, height: (ROW - 4) * busy, class: "pg-span-busy" });
        const tip = [["Stage", name], ["Thread", String(span.thread)], ["Start", Format.time(span.start_ns)], ["Duration", Format.time(span.end_ns - span.start_ns)], ["Own time", Format.time(span.busy_ns)], ["Invocations", Format.count(span.invocations)]];
        rect.addEventListener("mousemove", (event) => Dom.tooltip.show(event, tip));
        rect.addEventListener("mouseleave", () => Dom.tooltip.hide());
        svg.append(rect, inner);
      }
    });
    const axis = svgEl("text", { x: LABEL, y: rows.length * ROW + AXIS - 5, class: "pg-gantt-label" });
    axis.textContent = "0 \u2192 " + Format.time(extent) + " since the run started; darker: the stage\u2019s own time";
    svg.append(axis);
    const note = stages.span_log.coalesced ? Dom.el("p", { class: "pg-note", text: "The span log was full: neighbouring spans of a stage and thread were merged " + stages.span_log.coalesced + " times (every invocation kept)." }) : null;
    return Dom.el("div", { class: "pg-gantt-wrap" }, svg, note);
  },
};

/* Comparison with the program's baseline (embedded when the history has one):
 * summary, flagged functions, and a differential flame graph of this run
 * whose frames are coloured by their function's change of self time. */
const DiffSection = {
  id: "diff",
  title: "Compared with the baseline",
  available: (model) => model.data.diff != null && model.nodes.count > 1,
  state: null,
  render(body, model) {
    const diff = model.data.diff;
    const change = diff.base_duration_ns > 0 ? diff.duration_ns / diff.base_duration_ns - 1 : 0;
    const counts = Object.entries(diff.counts).map(([verdict, n]) => n + " " + verdict).join(", ");
    body.append(Dom.el("p", { text: "Against " + diff.base + ": run time " + Format.time(diff.base_duration_ns) + " \u2192 " + Format.time(diff.duration_ns) + " (" + (change >= 0 ? "+" : "") + (100 * change).toFixed(1) + "%); " + counts + "." }));
    if (Math.abs(diff.common_shift) >= 0.01) {
      body.append(Dom.el("p", { class: "pg-note", text: "Every function moved by " + (100 * diff.common_shift).toFixed(1) + "% together (machine speed or a change everywhere); verdicts are relative to that." }));
    }
    const list = Dom.el("ul", { class: "pg-diff-list" });
    const c = model.functions.columns;
    for (let f = 0; f < model.functions.real; f++) {
      const item = Model.diffOf(model, f);
      if (item.verdict !== "regressed" && item.verdict !== "improved") continue;
      list.append(Dom.el("li", { class: "pg-diff-" + item.verdict }, Dom.el("b", { text: item.verdict + " " }), document.createTextNode(String(c.name[f]) + " \u2014 " + item.reasons)));
    }
    for (const label of diff.gone) list.append(Dom.el("li", { class: "pg-diff-gone", text: "gone " + label }));
    if (list.children.length) body.append(list);
    const state = { model, root: 0, box: Dom.el("div", { class: "pg-flame pg-diff-flame" }) };
    DiffSection.state = state;
    body.append(state.box, Dom.el("p", { class: "pg-note", text: "Differential flame graph of this run: width is total time, red frames got slower, blue faster than the baseline (only changes the statistics found significant are coloured, stronger for larger ones). Click to zoom, click the bottom frame to zoom out." }));
    state.box.addEventListener("click", (event) => {
      const frame = event.target.closest(".pg-frame");
      if (!frame) return;
      const node = Number(frame.dataset.node);
      state.root = node === state.root ? Math.max(model.nodes.parent[node], 0) : node;
      DiffSection.draw(state);
    });
    state.box.addEventListener("mousemove", (event) => {
      const frame = event.target.closest(".pg-frame");
      if (!frame) { Dom.tooltip.hide(); return; }
      const node = Number(frame.dataset.node);
      const item = Model.diffOf(model, model.nodes.func[node]);
      const lines = [["", Model.nodeName(model, node)], ["total", Format.time(model.nodes.total[node])], ["verdict", item.verdict]];
      if (item.change != null) lines.push(["time", (item.change >= 0 ? "+" : "") + (100 * item.change).toFixed(1) + "%"]);
      else if (item.callChange != null) lines.push(["median call", (item.callChange >= 0 ? "+" : "") + (100 * item.callChange).toFixed(1) + "% (within noise)"]);
      if (item.reasons) lines.push(["why", item.reasons]);
      Dom.tooltip.show(event, lines);
    });
    state.box.addEventListener("mouseleave", () => Dom.tooltip.hide());
    window.addEventListener("resize", () => DiffSection.draw(state));
    DiffSection.draw(state);
  },
  draw(state) {
    const { model } = state;
    const nodes = model.nodes;
    const frames = Model.layout(nodes, state.root, nodes.total, state.box.clientWidth || 1000, 1, FlameSection.MAX_DEPTH);
    let maxDepth = 0;
    const fragment = document.createDocumentFragment();
    for (const frame of frames) {
      const item = Model.diffOf(model, nodes.func[frame.node]);
      const div = Dom.el("div", { class: "pg-frame pg-diff-" + item.verdict });
      div.dataset.node = frame.node;
      div.style.left = frame.x.toFixed(1) + "px";
      div.style.width = Math.max(frame.w - 0.5, 0.5).toFixed(1) + "px";
      div.style.top = frame.depth * FlameSection.ROW + "px";
      div.style.background = frame.node === 0 ? "#c9cfda" : Model.diffColor(item.change, item.verdict);
      if (frame.w > 24) div.textContent = Model.nodeName(model, frame.node);
      fragment.append(div);
      if (frame.depth > maxDepth) maxDepth = frame.depth;
    }
    state.box.style.height = (maxDepth + 1) * FlameSection.ROW + 2 + "px";
    state.box.replaceChildren(fragment);
  },
};

const TimelineSection = {
  id: "timeline",
  title: "Resource timeline",
  WIDTH: 800,
  HEIGHT: 90,
  available: (model) => Model.timelineSeries(model.timeline).length > 0,
  render(body, model) {
    const series = Model.timelineSeries(model.timeline);
    const t = model.timeline;
    const step = t.interval_ns * t.stride;
    body.append(Dom.el("p", { class: "pg-note", text: t.t_ns.length + " samples of " + Format.time(step) + " (levels are the highest value in each sample, rates its average). Hover a chart for values." }));
    for (const s of series) body.append(TimelineSection.chart(s));
  },
  /* One SVG area chart; y from 0 to the largest value (percentages: at
   * least 100). */
  chart(s) {
    const W = TimelineSection.WIDTH, H = TimelineSection.HEIGHT, NS = "http://www.w3.org/2000/svg";
    const top = Math.max(...s.y, 0);
    const scale = Math.max(top, s.floor || 0); /* percentages: at least 0-100 */
    const x0 = s.x[0], x1 = s.x[s.x.length - 1];
    const px = (x) => (x1 > x0 ? (x - x0) / (x1 - x0) * W : W / 2);
    const py = (y) => (scale > 0 ? H - y / scale * (H - 4) : H);
    let d = "M" + px(x0).toFixed(1) + "," + H;
    s.x.forEach((x, i) => { d += " L" + px(x).toFixed(1) + "," + py(s.y[i]).toFixed(1); });
    d += " L" + px(x1).toFixed(1) + "," + H + " Z";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "pg-chart");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", s.title);
    const area = document.createElementNS(NS, "path");
    area.setAttribute("d", d);
    area.setAttribute("class", "pg-chart-area");
    svg.append(area);
    const marker = document.createElementNS(NS, "line");
    marker.setAttribute("class", "pg-chart-marker");
    marker.setAttribute("y1", "0");
    marker.setAttribute("y2", String(H));
    marker.style.display = "none";
    svg.append(marker);
    svg.addEventListener("mousemove", (event) => {
      const box = svg.getBoundingClientRect();
      const at = x0 + (event.clientX - box.left) / Math.max(1, box.width) * (x1 - x0);
      let i = 0;
      while (i + 1 < s.x.length && Math.abs(s.x[i + 1] - at) <= Math.abs(s.x[i] - at)) i++;
      marker.setAttribute("x1", px(s.x[i]).toFixed(1));
      marker.setAttribute("x2", px(s.x[i]).toFixed(1));
      marker.style.display = "";
      Dom.tooltip.show(event, [["", s.title], ["at", Format.seconds(s.x[i])], ["value", s.format(s.y[i])]]);
    });
    svg.addEventListener("mouseleave", () => { marker.style.display = "none"; Dom.tooltip.hide(); });
    const head = Dom.el("div", { class: "pg-chart-head" },
      Dom.el("span", { class: "pg-chart-title", text: s.title }),
      Dom.el("span", { class: "pg-note pg-chart-summary", text: s.summary + " " + s.format(top) }));
    const axis = Dom.el("div", { class: "pg-chart-axis pg-note" },
      Dom.el("span", { text: Format.seconds(x0) }), Dom.el("span", { text: Format.seconds(x1) }));
    return Dom.el("div", { class: "pg-chart-box", "data-series": s.id }, head, svg, axis);
  },
};

/* Sections in page order; each renders only when it has data. */
const SECTIONS = [HeaderSection, FindingsSection, StagesSection, DiffSection, FlameSection, TreeSection, TableSection,
  SourceSection, TimelineSection];

/* ------------------------------------------------------------------- 5. Boot */
function boot() {
  const started = performance.now();
  const data = JSON.parse(document.getElementById("pg-data").textContent);
  const model = Model.build(data);
  const main = document.getElementById("pg-sections");
  main.replaceChildren();
  for (const section of SECTIONS) {
    if (!section.available(model)) continue;
    const body = Dom.el("section", { class: "pg-section", id: "pg-" + section.id }, Dom.el("h2", { text: section.title }));
    main.append(body);
    section.render(body, model);
  }
  window.pgReport = { model, sections: SECTIONS, Model, bootMs: performance.now() - started };
  window.pgReady = true;
  document.documentElement.dataset.pgReady = "true"; /* for selectors: no script eval needed */
}

boot();
