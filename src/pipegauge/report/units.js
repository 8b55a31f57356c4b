/* pipegauge pages: formatting shared by the report and the forecast page
 * (inlined before each page's own script). Pure functions, no DOM. */
"use strict";

const Units = {
  /* bytes -> "512 B" / "1.5 KiB" / "2.0 GiB" */
  bytes(n) {
    if (!isFinite(n)) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(1)) + " " + units[i];
  },
  count(n) { return isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-"; },
};
