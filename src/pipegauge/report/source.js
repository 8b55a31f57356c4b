/* pipegauge report: the source view (line heat). Loaded before report.js,
 * whose SECTIONS list includes SourceSection; it uses report.js's Format and
 * Dom at render time only.
 *
 * data.line_heat (see src/pipegauge/_lineheat.py report_data): the hottest
 * functions with line heat, each {func, name, file, first, source (lines or
 * null), source_error, since_ns, rows: [[line, self_ns, total_ns, hits]]}.
 * Clicking a function (here, or a row of the function table) shows its
 * source with a bar per line: width = the line's share of the function's
 * measured total time.
 */
"use strict";

const LineModel = {
  /* Pure: the view of one function entry. */
  view(entry) {
    const total = entry.rows.reduce((sum, row) => sum + row[2], 0);
    const byLine = new Map();
    let hottest = null;
    for (const [line, self, tot, hits] of entry.rows) {
      const row = { line, self, total: tot, hits, share: total > 0 ? tot / total : 0 };
      byLine.set(line, row);
      if (!hottest || row.total > hottest.total) hottest = row;
    }
    const lines = [];
    const source = entry.source || [];
    for (let i = 0; i < source.length; i++) {
      const number = entry.first + i;
      lines.push({ number, text: source[i], heat: byLine.get(number) || null });
    }
    return { total, lines, hottest: hottest ? hottest.line : null, rows: byLine };
  },
  entries(model) {
    return (model.data.line_heat && model.data.line_heat.functions) || [];
  },
  find(model, func) {
    return LineModel.entries(model).find((entry) => entry.func === func) || null;
  },
};

const SourceSection = {
  id: "source",
  title: "Source with line heat",
  available: (model) => LineModel.entries(model).length > 0,
  state: null,
  has(model, func) { return SourceSection.available(model) && LineModel.find(model, func) !== null; },
  render(body, model) {
    const state = { model, func: null };
    SourceSection.state = state;
    const unit = model.data.line_heat.unit || "hits";
    state.unit = unit;
    const list = Dom.el("ul", { class: "pg-src-list" });
    for (const entry of LineModel.entries(model)) {
      const total = entry.rows.reduce((sum, row) => sum + row[2], 0);
      list.append(Dom.el("li", null, Dom.el("a", {
        class: "pg-src-fn", "data-func": String(entry.func), text: entry.name,
        onclick: () => SourceSection.show(entry.func),
      }), Dom.el("span", { class: "pg-note", text: " " + Format.time(total) + " in measured lines" })));
    }
    const omitted = model.data.line_heat.omitted;
    state.view = Dom.el("div", { class: "pg-src-view" });
    body.append(Dom.el("p", { class: "pg-note", text: "Functions with line heat (click one, or a row of the function table):" }), list);
    if (omitted) body.append(Dom.el("p", { class: "pg-note", text: omitted + " more not embedded" }));
    body.append(state.view);
    document.addEventListener("click", (event) => {
      const row = event.target.closest && event.target.closest("tr[data-func]");
      if (!row) return;
      const func = Number(row.dataset.func);
      if (SourceSection.has(model, func)) SourceSection.show(func);
    });
    const first = LineModel.entries(model)[0];
    if (first) SourceSection.show(first.func);
  },
  show(func) {
    const state = SourceSection.state;
    const entry = LineModel.find(state.model, func);
    if (!entry) return;
    state.func = func;
    const view = LineModel.view(entry);
    const head = Dom.el("div", { class: "pg-src-head" },
      Dom.el("b", { text: entry.name }), Dom.el("span", { class: "pg-file mono", text: " " + entry.file + ":" + entry.first }));
    const notes = [];
    if (entry.since_ns) notes.push(Dom.el("p", { class: "pg-note", text: "Measured from " + Format.time(entry.since_ns) + " into the run on (chosen by the --lines threshold then)." }));
    if (!entry.source) {
      state.view.replaceChildren(head, ...notes, Dom.el("p", { class: "pg-note pg-src-error", text: entry.source_error || "source not available" }));
      return;
    }
    const table = Dom.el("table", { class: "pg-src mono", "data-func": String(func) });
    table.append(Dom.el("thead", null, Dom.el("tr", null, ...["line", "total", "self", "share", state.unit, "", "source"].map((label) => Dom.el("th", { text: label })))));
    const tbody = Dom.el("tbody");
    for (const line of view.lines) {
      const h = line.heat;
      const bar = Dom.el("div", { class: "pg-src-bar" });
      bar.style.width = h ? (100 * h.share).toFixed(2) + "%" : "0";
      if (h) bar.style.background = Dom.heatColor(h.share);
      const tr = Dom.el("tr", { "data-line": String(line.number), class: line.number === view.hottest ? "pg-src-hot" : "" },
        Dom.el("td", { class: "pg-src-num", text: String(line.number) }),
        Dom.el("td", { text: h ? Format.time(h.total) : "" }),
        Dom.el("td", { text: h ? Format.time(h.self) : "" }),
        Dom.el("td", { text: h ? (100 * h.share).toFixed(1) + "%" : "" }),
        Dom.el("td", { text: h ? Format.count(h.hits) : "" }),
        Dom.el("td", { class: "pg-src-barcell" }, bar),
        Dom.el("td", { class: "pg-src-code", text: line.text }));
      tbody.append(tr);
    }
    table.append(tbody);
    state.view.replaceChildren(head, ...notes, table);
  },
};
