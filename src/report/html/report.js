// gpa's HTML report: renders the JSON report embedded in the page (see src/report/html.rs).
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("gpa-data").textContent);
  const report = data.report || {};
  const sources = data.sources || {};
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                  "#edc948", "#b07aa1", "#ff9da7"];
  const OTHER_COLOR = "#c7c7c7";

  // ---- helpers ----

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
    }
    return node;
  }

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(typeof child === "string" ? child : child);
    }
    return node;
  }

  const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

  function count(n) {
    return typeof n === "number" ? integer.format(n) : String(n);
  }

  function bytes(n) {
    if (typeof n !== "number") return String(n);
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let value = n;
    let unit = "";
    for (const next of units) {
      if (value < 1024) break;
      value /= 1024;
      unit = next;
    }
    const exact = integer.format(n) + (n === 1 ? " byte" : " bytes");
    return unit ? `${exact} (${decimal.format(value)} ${unit})` : exact;
  }

  function duration(ns) {
    if (typeof ns !== "number") return String(ns);
    if (ns >= 1e9) return `${decimal.format(ns / 1e9)} s`;
    if (ns >= 1e6) return `${decimal.format(ns / 1e6)} ms`;
    if (ns >= 1e3) return `${decimal.format(ns / 1e3)} µs`;
    return `${integer.format(ns)} ns`;
  }

  // Numbers that are names, not quantities: no digit grouping.
  const PLAIN = new Set(["pid", "ppid", "line", "exit_status", "offset", "status", "signal"]);

  // A number from the report, with its path for tests and readers.
  function field(path, value, format) {
    const last = path.split(".").pop();
    const text = PLAIN.has(last) ? String(value) : (format || count)(value);
    return el("span", { class: "value", "data-field": path, "data-value": String(value) }, text);
  }

  function frameName(frame) {
    if (!frame) return "(no stack trace)";
    const fn = frame.function || "???";
    if (frame.file) return `${fn} (${shortPath(frame.file)}:${frame.line ?? "?"})`;
    if (frame.module) return `${fn} (${shortPath(frame.module)}+${frame.offset || frame.address})`;
    return `${fn} (${frame.address})`;
  }

  function shortPath(path) {
    const parts = String(path).split("/");
    return parts.length > 2 ? parts.slice(-2).join("/") : String(path);
  }

  // ---- traces ----

  function sourceOf(frame) {
    const lines = frame.file && sources[frame.file];
    if (!lines || typeof frame.line !== "number") return null;
    const pre = el("pre", { class: "source" });
    let any = false;
    for (let n = Math.max(1, frame.line - 2); n <= frame.line + 2; n++) {
      const text = lines[String(n)];
      if (text === undefined) continue;
      any = true;
      const row = el("span", { class: n === frame.line ? "line here" : "line" },
                     el("span", { class: "number" }, String(n)), text, "\n");
      pre.append(row);
    }
    return any ? pre : null;
  }

  function trace(frames) {
    const list = el("ol", { class: "trace" });
    if (!frames || frames.length === 0) {
      list.append(el("li", { class: "empty" }, "no frames (traces are off, or gpa had no room to keep them)"));
      return list;
    }
    for (const frame of frames) {
      const where = frame.file
        ? `${frame.file}:${frame.line ?? "?"}`
        : frame.module ? `${frame.module}+${frame.offset || frame.address}` : frame.address;
      const item = el("li", {}, el("span", { class: "function" }, frame.function || "???"),
                      " ", el("span", { class: "where" }, where || ""));
      const source = sourceOf(frame);
      if (source) item.append(source);
      list.append(item);
    }
    return list;
  }

  // ---- findings ----

  const KNOWN_FINDING_FIELDS = new Set(["kind", "message", "stacks"]);
  const KIND_TITLES = {
    leak: "Leaks", double_free: "Double frees", invalid_free: "Invalid frees",
    foreign_free: "Frees into another allocator", layout_mismatch: "Layout mismatches",
    write_after_free: "Writes after free", overflow: "Buffer overflows",
    underflow: "Buffer underflows", read_after_free: "Reads after free",
    mismatched_free: "Mismatched frees", internal_error: "Internal errors",
  };

  function findingBlock(finding, path) {
    const details = el("details", { class: `finding ${finding.kind}` });
    const summary = el("summary", {}, el("span", { class: "message" }, finding.message || finding.kind));
    details.append(summary);
    const facts = el("table", { class: "facts" });
    for (const [name, value] of Object.entries(finding)) {
      if (KNOWN_FINDING_FIELDS.has(name)) continue;
      let shown;
      if (typeof value === "number") {
        shown = field(`${path}.${name}`, value, /bytes|size/.test(name) ? bytes : count);
      } else if (value === null) {
        continue;
      } else if (typeof value === "object") {
        shown = el("code", {}, JSON.stringify(value));
      } else {
        shown = String(value);
      }
      facts.append(el("tr", {}, el("th", {}, name.replace(/_/g, " ")), el("td", {}, shown)));
    }
    details.append(facts);
    for (const [name, frames] of Object.entries(finding.stacks || {})) {
      details.append(el("h4", {}, `${name.replace(/_/g, " ")} trace`), trace(frames));
    }
    return details;
  }

  function findingsSection(findings, key, title) {
    const section = el("section", { id: key });
    section.append(el("h2", {}, title, " ", el("span", { class: "badge" },
      field(`${key}.length`, findings.length))));
    if (findings.length === 0) {
      section.append(el("p", { class: "clean" }, "Nothing to report."));
      return section;
    }
    const kinds = [];
    const byKind = new Map();
    findings.forEach((finding, index) => {
      if (!byKind.has(finding.kind)) {
        byKind.set(finding.kind, []);
        kinds.push(finding.kind);
      }
      byKind.get(finding.kind).push([finding, index]);
    });
    for (const kind of kinds) {
      const group = byKind.get(kind);
      const blocks = group.reduce((sum, [f]) => sum + (typeof f.count === "number" ? f.count : 1), 0);
      const size = group.reduce((sum, [f]) => sum + (typeof f.size === "number" ? f.size : 0), 0);
      const details = el("details", { class: "kind", open: "" });
      details.append(el("summary", {}, el("strong", {}, KIND_TITLES[kind] || kind),
        ` — ${count(group.length)} record(s), ${count(blocks)} block(s), ${bytes(size)}`));
      for (const [finding, index] of group) {
        const block = findingBlock(finding, `${key}.${index}`);
        // A short report opens every finding; a long one lists them closed.
        if (findings.length <= 12) block.open = true;
        details.append(block);
      }
      section.append(details);
    }
    return section;
  }

  // ---- processes and totals ----

  function summarySection() {
    const section = el("section", { id: "summary" });
    section.append(el("h2", {}, "Summary"));
    const table = el("table", { class: "facts" });
    const row = (name, node) => table.append(el("tr", {}, el("th", {}, name), el("td", {}, node)));
    const findings = report.findings || [];
    row("findings", field("findings.length", findings.length));
    for (const name of ["leaked_blocks", "leaked_bytes", "reachable_blocks", "reachable_bytes"]) {
      if (typeof report[name] === "number") {
        row(name.replace(/_/g, " "), field(name, report[name], /bytes/.test(name) ? bytes : count));
      }
    }
    for (const [name, value] of Object.entries(report)) {
      if (["findings", "processes", "profiles", "reachable", "leaked_blocks", "leaked_bytes",
           "reachable_blocks", "reachable_bytes"].includes(name)) continue;
      if (value === null) continue;
      if (typeof value === "number") row(name.replace(/_/g, " "), field(name, value));
      else if (typeof value !== "object") row(name.replace(/_/g, " "), String(value));
      else row(name.replace(/_/g, " "), el("code", {}, JSON.stringify(value)));
    }
    section.append(table);
    const processes = report.processes || [];
    if (processes.length > 0) {
      section.append(el("h3", {}, `Processes (${processes.length})`));
      const columns = [...new Set(processes.flatMap((p) => Object.keys(p)))];
      const head = el("tr", {}, ...columns.map((c) => el("th", {}, c.replace(/_/g, " "))));
      const body = processes.map((process, index) => el("tr", {}, ...columns.map((c) => {
        const value = process[c];
        if (typeof value === "number") return el("td", { class: "number" }, field(`processes.${index}.${c}`, value));
        if (value === undefined || value === null) return el("td", {}, "");
        return el("td", {}, typeof value === "object" ? JSON.stringify(value) : String(value));
      })));
      section.append(el("div", { class: "table" }, el("table", { class: "grid" }, head, ...body)));
    }
    return section;
  }

  // ---- profiles ----

  // Functions at the top of most sites' traces are the program's allocation wrappers
  // (`xmalloc`, `sqlite3Malloc`, `_PyObject_Malloc`): a site is named after the first frame
  // below them, "via" the wrapper.
  let wrappers = new Set();

  function findWrappers(sites) {
    const counts = new Map();
    const considered = sites.slice(0, 50);
    for (const site of considered) {
      const seen = new Set((site.frames || []).map((frame) => frame.function).filter(Boolean));
      for (const name of seen) counts.set(name, (counts.get(name) || 0) + 1);
    }
    wrappers = new Set();
    if (considered.length < 3) return;
    for (const [name, n] of counts) {
      if (n > considered.length / 2) wrappers.add(name);
    }
  }

  function siteLabel(site) {
    const frames = (site && site.frames) || [];
    const own = frames.find((frame) => frame.function && !wrappers.has(frame.function));
    if (!own) return frameName(frames.find((frame) => frame.function) || frames[0]);
    const first = frames.find((frame) => frame.function);
    const after = frames.slice(frames.indexOf(own) + 1);
    const caller = after.find((frame) => frame.function && frame.function !== own.function);
    let label = frameName(own);
    if (caller) label += ` ← ${caller.function}`;
    return own === first ? label : `${label} via ${first.function}`;
  }

  function chart(profile, path) {
    const timeline = profile.timeline || {};
    const times = timeline.time_ns || [];
    const totals = timeline.bytes || [];
    const series = timeline.sites || [];
    const width = 960, height = 340;
    const left = 92, right = 24, top = 24, bottom = 44;
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    const peak = profile.peak || { bytes: 0, time_ns: 0 };
    const maxTime = Math.max(1, profile.duration_ns || 0, times.length ? times[times.length - 1] : 0,
                             peak.time_ns || 0);
    const maxBytes = Math.max(1, peak.bytes || 0, ...totals) * 1.08;
    const x = (t) => left + (t / maxTime) * plotWidth;
    const y = (b) => top + plotHeight - (b / maxBytes) * plotHeight;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
                              "aria-label": "live bytes over time" });
    root.append(svg("rect", { x: left, y: top, width: plotWidth, height: plotHeight, class: "plot" }));
    // Axes and grid.
    for (let i = 0; i <= 4; i++) {
      const value = (maxBytes / 1.08) * (i / 4);
      const yy = y(value);
      root.append(svg("line", { x1: left, x2: left + plotWidth, y1: yy, y2: yy, class: "grid" }));
      root.append(svg("text", { x: left - 6, y: yy + 4, class: "tick", "text-anchor": "end" },
        shortBytes(value)));
    }
    for (let i = 0; i <= 5; i++) {
      const t = (maxTime * i) / 5;
      root.append(svg("text", { x: x(t), y: top + plotHeight + 18, class: "tick", "text-anchor": "middle" },
        duration(Math.round(t))));
    }
    root.append(svg("text", { x: left + plotWidth / 2, y: height - 6, class: "axis", "text-anchor": "middle" },
      "time since the profile started"));
    // Stacked areas: the top sites from the bottom, then the rest of the heap.
    const stacked = times.map(() => 0);
    const layers = [];
    series.forEach((entry, k) => {
      const lower = stacked.slice();
      entry.bytes.forEach((value, i) => { stacked[i] += value; });
      layers.push({ lower, upper: stacked.slice(), color: COLORS[k % COLORS.length],
                    name: siteLabel((profile.sites || [])[entry.site]) });
    });
    layers.push({ lower: stacked.slice(), upper: totals.slice(), color: OTHER_COLOR, name: "other sites" });
    for (const layer of layers) {
      if (times.length === 0) break;
      let d = `M ${x(times[0])} ${y(layer.upper[0])}`;
      for (let i = 1; i < times.length; i++) d += ` L ${x(times[i])} ${y(layer.upper[i])}`;
      for (let i = times.length - 1; i >= 0; i--) d += ` L ${x(times[i])} ${y(layer.lower[i])}`;
      d += " Z";
      root.append(svg("path", { d, fill: layer.color, class: "layer" }, svg("title", {}, layer.name)));
    }
    if (times.length > 0) {
      let d = `M ${x(times[0])} ${y(totals[0])}`;
      for (let i = 1; i < times.length; i++) d += ` L ${x(times[i])} ${y(totals[i])}`;
      root.append(svg("path", { d, class: "total" }, svg("title", {}, "live bytes")));
    }
    // The peak.
    const px = x(peak.time_ns || 0), py = y(peak.bytes || 0);
    root.append(svg("line", { x1: px, x2: px, y1: top, y2: top + plotHeight, class: "peak-line" }));
    root.append(svg("circle", { cx: px, cy: py, r: 4.5, class: "peak-dot", "data-field": `${path}.peak.bytes`,
                                "data-value": String(peak.bytes) }));
    const anchor = px > left + plotWidth * 0.7 ? "end" : "start";
    root.append(svg("text", { x: anchor === "end" ? px - 8 : px + 8, y: Math.max(top + 12, py - 8),
                              class: "peak-label", "text-anchor": anchor },
      `peak ${shortBytes(peak.bytes || 0)} at ${duration(peak.time_ns || 0)}`));
    const legend = el("ul", { class: "legend" });
    for (const layer of layers) {
      legend.append(el("li", {}, el("span", { class: "swatch", style: `background:${layer.color}` }), layer.name));
    }
    return el("figure", { class: "timeline" }, root, legend);
  }

  function shortBytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return `${decimal.format(value)} ${units[unit]}`;
  }

  function sitesTable(profile, path, order, title, id) {
    const sites = profile.sites || [];
    const table = el("table", { class: "grid sites", id });
    table.append(el("tr", {}, ...["#", "at the peak", "blocks", "in total", "blocks", "site max",
      "at the end", "avg lifetime", "short-lived", "allocated at"].map((h) => el("th", {}, h))));
    order.forEach((index, rank) => {
      const site = sites[index];
      const p = `${path}.sites.${index}`;
      const life = site.lifetime_ns || {};
      const details = el("details", {}, el("summary", {}, siteLabel(site)), trace(site.frames));
      table.append(el("tr", {},
        el("td", { class: "number" }, String(rank + 1)),
        el("td", { class: "number" }, field(`${p}.at_peak.bytes`, site.at_peak.bytes, shortBytesExact)),
        el("td", { class: "number" }, field(`${p}.at_peak.blocks`, site.at_peak.blocks)),
        el("td", { class: "number" }, field(`${p}.total.bytes`, site.total.bytes, shortBytesExact)),
        el("td", { class: "number" }, field(`${p}.total.blocks`, site.total.blocks)),
        el("td", { class: "number" }, field(`${p}.max.bytes`, site.max.bytes, shortBytesExact)),
        el("td", { class: "number" }, field(`${p}.at_end.bytes`, site.at_end.bytes, shortBytesExact)),
        el("td", { class: "number" }, typeof life.avg === "number" ? duration(life.avg) : "—"),
        el("td", { class: "number" }, field(`${p}.short_lived_blocks`, site.short_lived_blocks)),
        el("td", { class: "trace-cell" }, details)));
    });
    return el("div", { class: "table" }, el("h3", {}, title), table);
  }

  function shortBytesExact(n) {
    return n >= 1024 ? `${integer.format(n)} (${shortBytes(n)})` : integer.format(n);
  }

  function profileSection(given, index) {
    const path = `profiles.${index}`;
    // A site's frames are indexes into the profile's frame table.
    const table = given.frame_table || [];
    const profile = Object.assign({}, given, {
      sites: (given.sites || []).map((site) => Object.assign({}, site, {
        frames: (site.frames || []).map((frame) => (typeof frame === "number" ? table[frame] : frame))
          .filter((frame) => frame !== undefined),
      })),
    });
    findWrappers(profile.sites);
    const section = el("section", { class: "profile", id: `profile-${index}` });
    section.append(el("h2", {}, "Heap profile", profile.pid ? ` — process ${profile.pid}` : ""));
    if (profile.command) section.append(el("p", {}, el("code", {}, profile.command)));
    const facts = el("table", { class: "facts" });
    const row = (name, ...nodes) => facts.append(el("tr", {}, el("th", {}, name), el("td", {}, ...nodes)));
    row("allocated in total", field(`${path}.total.bytes`, profile.total.bytes, bytes), " in ",
        field(`${path}.total.blocks`, profile.total.blocks), " blocks");
    row("peak of live bytes", field(`${path}.peak.bytes`, profile.peak.bytes, bytes), " in ",
        field(`${path}.peak.blocks`, profile.peak.blocks), " blocks, at ",
        field(`${path}.peak.time_ns`, profile.peak.time_ns, duration));
    row("live at the end", field(`${path}.end.bytes`, profile.end.bytes, bytes), " in ",
        field(`${path}.end.blocks`, profile.end.blocks), " blocks");
    row("duration", field(`${path}.duration_ns`, profile.duration_ns, duration));
    row("allocation sites", field(`${path}.sites.length`, (profile.sites || []).length));
    row("short-lived", `freed within ${duration(profile.short_lived_ns)}`);
    if (profile.unmatched_frees) {
      row("frees of earlier blocks", field(`${path}.unmatched_frees`, profile.unmatched_frees));
    }
    section.append(facts, chart(profile, path));
    const sites = profile.sites || [];
    const byPeak = sites.map((_, i) => i).filter((i) => sites[i].at_peak.bytes > 0)
      .sort((a, b) => sites[b].at_peak.bytes - sites[a].at_peak.bytes || a - b).slice(0, 20);
    const byTotal = sites.map((_, i) => i)
      .sort((a, b) => sites[b].total.bytes - sites[a].total.bytes || a - b).slice(0, 20);
    section.append(sitesTable(profile, path, byPeak, "Top sites by bytes at the peak", `peak-sites-${index}`));
    section.append(sitesTable(profile, path, byTotal, "Top sites by bytes allocated in total", `total-sites-${index}`));
    return section;
  }

  // ---- the page ----

  function render() {
    const main = document.getElementById("report");
    main.textContent = "";
    const profiles = report.profiles || [];
    const heading = profiles.length && profiles[0].command ? profiles[0].command
      : (report.processes && report.processes.length ? report.processes[0].program : report.program);
    main.append(el("header", {}, el("h1", {}, "gpa report"),
      heading ? el("p", { class: "command" }, el("code", {}, String(heading))) : null));
    main.append(summarySection());
    profiles.forEach((profile, index) => main.append(profileSection(profile, index)));
    main.append(findingsSection(report.findings || [], "findings", "Findings"));
    if (Array.isArray(report.reachable)) {
      main.append(findingsSection(report.reachable, "reachable", "Still reachable at exit"));
    }
    document.body.setAttribute("data-rendered", "yes");
  }

  render();
})();
