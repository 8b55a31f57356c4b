/* pipegauge report: the Findings section (what to change, best first).
 * Loaded before report.js, which lists FindingsSection in SECTIONS; it uses
 * report.js's Format and Dom only when rendering (after both have loaded).
 * Every string from the profile or the source is set as text, never HTML. */
"use strict";

const FindingsModel = {
  /* Findings in rank order (the embedded list is already ranked). */
  items(data) {
    const block = data.findings;
    return block && Array.isArray(block.items) ? block.items.slice().sort((a, b) => a.rank - b.rank) : [];
  },
  /* "12.3% of the run, total 1.2 s, self 0.8 s, 340 calls" (dead code: "0 calls") */
  evidence(item, sampled) {
    const e = item.evidence;
    if (item.rule === "dead-code") return "0 calls in this run";
    const parts = [(100 * e.share).toFixed(1) + "% of the run", "total " + Format.seconds(e.total_s),
      "self " + Format.seconds(e.self_s)];
    if (!sampled) parts.push(Format.count(e.calls) + (e.calls === 1 ? " call" : " calls")); /* sampled: not measured */
    parts.push("at stake " + Format.seconds(e.impact_s));
    return parts.join(", ");
  },
  heat(item) {
    return item.evidence.lines.map((l) => "line " + l.line + ": " + Format.seconds(l.total_s) + " (" + Format.count(l.hits) + " hits)").join(", ");
  },
  note(meta) {
    if (!meta) return "";
    const parts = [meta.analysed_functions + " functions analysed (above " + (100 * meta.settings.min_share).toFixed(1) + "% of the run)"];
    if (meta.skipped_files) parts.push(meta.skipped_files + " source files skipped (unreadable)");
    if (meta.unlocated_functions) parts.push(meta.unlocated_functions + " functions not found in their source");
    parts.push(meta.line_heat ? "line heat used" : "no line heat in this run");
    return "Ranked by the measured time at stake. " + parts.join("; ") + ".";
  },
};

const FindingsSection = {
  id: "findings",
  title: "Findings",
  available: (model) => Boolean(model.data.findings),
  render(body, model) {
    const items = FindingsModel.items(model.data);
    body.append(Dom.el("p", { class: "pg-note", text: FindingsModel.note(model.data.findings.meta) }));
    if (!items.length) {
      body.append(Dom.el("p", { class: "pg-finding-none", text: "Nothing to report: no hot function matches a rule." }));
      return;
    }
    const list = Dom.el("ol", { class: "pg-findings" });
    const sampled = Boolean(model.data.findings.meta && model.data.findings.meta.sampled);
    for (const item of items) list.append(FindingsSection.item(item, sampled));
    body.append(list);
  },
  item(item, sampled) {
    const li = Dom.el("li", { class: "pg-finding pg-rule-" + item.rule, "data-rule": item.rule, "data-rank": String(item.rank) });
    const head = Dom.el("div", { class: "pg-finding-head" },
      Dom.el("span", { class: "pg-finding-location mono", text: item.file + ":" + item.line }),
      Dom.el("span", { class: "pg-finding-rule", text: item.rule }),
      Dom.el("span", { class: "pg-finding-title", text: item.function + ": " + item.title }));
    li.append(head, Dom.el("div", { class: "pg-finding-evidence", text: FindingsModel.evidence(item, sampled) }));
    if (item.evidence.lines.length) li.append(Dom.el("div", { class: "pg-finding-heat mono", text: FindingsModel.heat(item) }));
    li.append(Dom.el("div", { class: "pg-finding-detail", text: item.detail }));
    li.append(Dom.el("div", { class: "pg-finding-why", text: "Why: " + item.why }));
    if (item.suggestion) li.append(Dom.el("div", { class: "pg-finding-try", text: "Try: " + item.suggestion }));
    return li;
  },
};
