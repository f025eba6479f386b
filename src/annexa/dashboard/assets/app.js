/* annexa dashboard: renders the embedded JSON with DOM APIs and textContent only (never innerHTML). */
(function () {
  "use strict";
  var started = performance.now();
  var D = JSON.parse(document.getElementById("annexa-data").textContent);
  var S = D.statuses;
  var LABEL = { fail: "fail", unknown: "unknown", waived: "waived", pass: "pass", not_applicable: "n/a" };
  var PAGE = 100;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") node.textContent = attrs[k];
        else if (k === "class") node.className = attrs[k];
        else if (k.indexOf("on") === 0) node.addEventListener(k.slice(2), attrs[k]);
        else node.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function status(code) { return code < 0 ? "" : S[code]; }
  function badge(code) {
    var s = status(code);
    return el("span", { class: "st st-" + (s || "none"), title: s || "not run", text: s ? LABEL[s] : "–" });
  }
  function pct(n, d) { return d ? Math.round(1000 * n / d) / 10 + "%" : "–"; }

  /* ---- tabs (keyboard: arrows move between tabs) ---- */
  var views = ["overview", "matrix", "trend", "changes", "offenders", "waivers", "unknowns", "repository"];
  var tabs = document.getElementById("tabs");
  function show(name) {
    views.forEach(function (v) {
      var on = v === name;
      document.getElementById("view-" + v).hidden = !on;
      var tab = document.getElementById("tab-" + v);
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
    });
    document.body.setAttribute("data-view", name);
  }
  views.forEach(function (v, i) {
    var tab = el("button", {
      id: "tab-" + v, role: "tab", "aria-controls": "view-" + v, class: "tab",
      text: v.charAt(0).toUpperCase() + v.slice(1),
      onclick: function () { show(v); },
      onkeydown: function (e) {
        var j = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
        if (j === null) return;
        var next = views[(j + views.length) % views.length];
        show(next);
        document.getElementById("tab-" + next).focus();
        e.preventDefault();
      }
    });
    tabs.appendChild(tab);
  });

  function table(headers, rows, opts) {
    opts = opts || {};
    var thead = el("tr", null, headers.map(function (h, i) {
      if (!opts.onsort) return el("th", { scope: "col", text: h });
      return el("th", { scope: "col", "aria-sort": opts.sorted === i ? (opts.desc ? "descending" : "ascending") : "none" },
        [el("button", { class: "sort", text: h, onclick: function () { opts.onsort(i); } })]);
    }));
    var body = el("tbody");
    rows.forEach(function (r) { body.appendChild(el("tr", null, r.map(function (c) { return el("td", null, [c]); }))); });
    return el("table", { class: opts.cls || "" }, [el("thead", null, [thead]), body]);
  }
  function text(v) { return v === null || v === undefined ? "" : String(v); }

  /* ---- overview ---- */
  function overview() {
    var root = clear(document.getElementById("view-overview"));
    var repos = D.repos;
    var passing = repos.filter(function (r) { return r.verdict === "pass"; }).length;
    var unknown = repos.filter(function (r) { return r.unknown > 0; }).length;
    root.appendChild(el("div", { class: "cards" }, [
      card("Repositories", String(repos.length)),
      card("Conformant", pct(passing, repos.length), passing + " pass their policies"),
      card("With blocking failures", String(repos.length - passing)),
      card("With unknowns", String(unknown), "a permission or file is needed"),
    ]));
    root.appendChild(el("h2", { text: "Conformance by policy" }));
    root.appendChild(table(["Policy", "Title", "pass", "fail", "unknown", "waived", "n/a", "conformant"],
      D.policies.map(function (p, i) { return countsRow([p.id, p.title], repos.map(function (r) { return r.p[i]; })); }),
      { cls: "counts" }));
    root.appendChild(el("h2", { text: "Conformance by ISO/IEC 27001:2022 control" }));
    root.appendChild(table(["Control", "Title", "pass", "fail", "unknown", "waived", "n/a", "conformant"],
      D.controls.map(function (c, i) { return countsRow([c.id, c.title], repos.map(function (r) { return r.c[i]; })); }),
      { cls: "counts" }));
  }
  function card(title, value, note) {
    return el("div", { class: "card" }, [el("div", { class: "card-title", text: title }),
      el("div", { class: "card-value", text: value }), note ? el("div", { class: "card-note", text: note }) : null]);
  }
  function countsRow(head, codes) {
    var n = [0, 0, 0, 0, 0];
    codes.forEach(function (c) { if (c >= 0) n[c] += 1; });
    var ran = n[0] + n[1] + n[2] + n[3];
    return head.concat([String(n[3]), String(n[0]), String(n[1]), String(n[2]), String(n[4]), pct(n[3] + n[2], ran)]);
  }

  /* ---- matrix: repository x policy / control / rule, filters, sorting, paging, CSV ---- */
  var M = { axis: "p", q: "", team: "", topic: "", visibility: "", status: "", sort: 0, desc: false, shown: PAGE };
  function axisItems() {
    if (M.axis === "p") return D.policies.map(function (p) { return p.id; });
    if (M.axis === "c") return D.controls.map(function (c) { return c.id; });
    return D.rules;
  }
  function filtered() {
    var q = M.q.toLowerCase();
    var want = M.status === "" ? -2 : S.indexOf(M.status);
    var rows = D.repos.filter(function (r) {
      if (q && r.name.toLowerCase().indexOf(q) < 0) return false;
      if (M.team && r.team !== M.team) return false;
      if (M.topic && r.topics.indexOf(M.topic) < 0) return false;
      if (M.visibility && r.visibility !== M.visibility) return false;
      if (want > -2 && r[M.axis].indexOf(want) < 0) return false;
      return true;
    });
    var k = M.sort;
    rows.sort(function (a, b) {
      var x, y;
      if (k === 0) { x = a.name; y = b.name; }
      else if (k === 1) { x = a.blocking; y = b.blocking; }
      else { x = a[M.axis][k - 2]; y = b[M.axis][k - 2]; }
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (c === 0 && k !== 0) c = a.name < b.name ? -1 : 1;
      return M.desc ? -c : c;
    });
    return rows;
  }
  function options(values, label) {
    return [el("option", { value: "", text: label })].concat(values.map(function (v) { return el("option", { value: v, text: v }); }));
  }
  function uniq(list) { var s = {}; list.forEach(function (v) { if (v) s[v] = 1; }); return Object.keys(s).sort(); }
  function matrixControls() {
    var root = document.getElementById("matrix-controls");
    function sel(id, label, values, key) {
      var s = el("select", { id: id, "aria-label": label, onchange: function () { M[key] = s.value; M.shown = PAGE; matrix(); } },
        options(values, label));
      return s;
    }
    var search = el("input", { id: "m-search", type: "search", placeholder: "filter repositories", "aria-label": "filter repositories",
      oninput: function () { M.q = search.value; M.shown = PAGE; matrix(); } });
    var axis = el("select", { id: "m-axis", "aria-label": "columns", onchange: function () { M.axis = axis.value; M.sort = 0; matrix(); } },
      [el("option", { value: "p", text: "by policy" }), el("option", { value: "c", text: "by control" }), el("option", { value: "r", text: "by rule" })]);
    root.appendChild(el("div", { class: "filters" }, [search, axis,
      sel("m-team", "any team", uniq(D.repos.map(function (r) { return r.team; })), "team"),
      sel("m-topic", "any topic", uniq([].concat.apply([], D.repos.map(function (r) { return r.topics; }))), "topic"),
      sel("m-visibility", "any visibility", uniq(D.repos.map(function (r) { return r.visibility; })), "visibility"),
      sel("m-status", "any status", S, "status"),
      el("button", { id: "m-csv", text: "Export CSV", onclick: exportCsv })]));
  }
  function matrix() {
    var root = clear(document.getElementById("matrix-table"));
    var items = axisItems();
    var rows = filtered();
    var headers = ["Repository", "Blocking"].concat(items);
    var body = rows.slice(0, M.shown).map(function (r) {
      return [el("button", { class: "link", text: r.name, onclick: function () { drill(r.name); } }), String(r.blocking)]
        .concat(r[M.axis].map(badge));
    });
    root.appendChild(el("p", { id: "m-count", text: rows.length + " of " + D.repos.length + " repositories" }));
    root.appendChild(table(headers, body, { cls: "matrix", sorted: M.sort, desc: M.desc,
      onsort: function (i) { M.desc = M.sort === i ? !M.desc : i === 1; M.sort = i; matrix(); } }));
    if (rows.length > M.shown) {
      root.appendChild(el("button", { id: "m-more", text: "Show " + Math.min(PAGE, rows.length - M.shown) + " more",
        onclick: function () { M.shown += PAGE; matrix(); } }));
    }
  }
  function csvCell(v) { v = text(v); return /[",\n\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  function exportCsv() {
    var items = axisItems();
    var lines = [["repository", "blocking", "team", "visibility"].concat(items).map(csvCell).join(",")];
    filtered().forEach(function (r) {
      lines.push([r.name, r.blocking, r.team, r.visibility].concat(r[M.axis].map(status)).map(csvCell).join(","));
    });
    var blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
    var a = el("a", { href: URL.createObjectURL(blob), download: "annexa-matrix.csv" });
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    window.__annexaLastCsv = lines.join("\r\n");
  }

  /* ---- trend: inline SVG lines per policy plus a table ---- */
  function trend() {
    var root = clear(document.getElementById("view-trend"));
    var T = D.trend;
    root.appendChild(el("h2", { text: "Share of repositories conformant, per day (each repository's last run carried forward)" }));
    if (!T.days.length) { root.appendChild(el("p", { text: "No full-repository runs recorded yet." })); return; }
    var NS = "http://www.w3.org/2000/svg", W = 720, H = 220, P = 30;
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "conformance trend");
    var n = T.days.length;
    function x(i) { return P + (n === 1 ? (W - 2 * P) / 2 : i * (W - 2 * P) / (n - 1)); }
    function y(v) { return H - P - v * (H - 2 * P) / 100; }
    var series = [{ name: "all policies", values: T.overall }].concat(D.policies.map(function (p, j) {
      return { name: p.id, values: T.policies.map(function (row) { return row[j]; }) };
    }));
    series.forEach(function (s, j) {
      var line = document.createElementNS(NS, "polyline");
      line.setAttribute("points", s.values.map(function (v, i) { return x(i) + "," + y(v); }).join(" "));
      line.setAttribute("class", "line line-" + (j % 6));
      var title = document.createElementNS(NS, "title");
      title.textContent = s.name;
      line.appendChild(title);
      svg.appendChild(line);
    });
    root.appendChild(svg);
    var headers = ["Day", "Repositories", "All policies"].concat(D.policies.map(function (p) { return p.id; }));
    root.appendChild(table(headers, T.days.map(function (d, i) {
      return [d, String(T.repos[i]), T.overall[i] + "%"].concat(T.policies[i].map(function (v) { return v + "%"; }));
    })));
  }

  /* ---- changes since the previous scan ---- */
  function changes() {
    var root = clear(document.getElementById("view-changes"));
    var C = D.changes;
    function finding(row) { return [row[0], row[1], row[2], row[3], row[4] + (row[5] ? ":" + row[5] : "")]; }
    root.appendChild(el("h2", { text: "Regressed policies (" + C.regressed.length + ")" }));
    root.appendChild(table(["Repository", "Policy", "Was", "Now", "At"], C.regressed));
    root.appendChild(el("h2", { text: "New failures (" + C.new_total + ")" }));
    root.appendChild(table(["Repository", "Rule", "Severity", "Message", "Location"], C.new.map(finding)));
    root.appendChild(el("h2", { text: "Fixed since the previous scan (" + C.fixed_total + ")" }));
    root.appendChild(table(["Repository", "Rule", "Severity", "Message", "Location"], C.fixed.map(finding)));
    root.appendChild(el("h2", { text: "Recovered policies (" + C.recovered.length + ")" }));
    root.appendChild(table(["Repository", "Policy", "Was", "Now", "At"], C.recovered));
  }

  function offenders() {
    var root = clear(document.getElementById("view-offenders"));
    var worst = D.repos.filter(function (r) { return r.blocking > 0; }).sort(function (a, b) {
      return b.blocking - a.blocking || b.fail - a.fail || (a.name < b.name ? -1 : 1);
    }).slice(0, 50);
    root.appendChild(el("h2", { text: "Worst offenders (blocking failures)" }));
    root.appendChild(table(["Repository", "Blocking", "Failing", "Unknown", "Last run"], worst.map(function (r) {
      return [el("button", { class: "link", text: r.name, onclick: function () { drill(r.name); } }),
        String(r.blocking), String(r.fail), String(r.unknown), r.at];
    })));
  }

  function waivers() {
    var root = clear(document.getElementById("view-waivers"));
    root.appendChild(el("h2", { text: "Waivers expiring within 30 days (" + D.waivers.length + ")" }));
    root.appendChild(table(["Repository", "Rule", "Path", "Expires", "Days left", "Approved by", "Ticket"],
      D.waivers.map(function (w) { return w.map(text); })));
  }

  function unknowns() {
    var root = clear(document.getElementById("view-unknowns"));
    root.appendChild(el("h2", { text: "Unknown results, by what would resolve them" }));
    root.appendChild(table(["Needs", "Repositories", "Results", "Rules", "For example"], D.unknowns.map(function (u) {
      return [u.needs, String(u.repos), String(u.count), u.rules.join(", "), u.examples.join(", ")];
    })));
  }

  /* ---- drill-down ---- */
  var picker = null;
  function drill(name) {
    show("repository");
    picker.value = name;
    repository(name);
  }
  function repository(name) {
    var root = clear(document.getElementById("repo-detail"));
    var r = null;
    for (var i = 0; i < D.repos.length; i++) if (D.repos[i].name === name) { r = D.repos[i]; break; }
    if (!r) { root.appendChild(el("p", { text: "Choose a repository." })); return; }
    root.appendChild(el("h2", { id: "repo-name", text: r.name }));
    root.appendChild(el("p", { text: "Last run " + r.at + (r.commit ? " at " + r.commit.slice(0, 12) : "") + ", verdict " +
      r.verdict + ", " + r.runs + " runs recorded" }));
    root.appendChild(table(["Policy", "Status"], D.policies.map(function (p, j) { return [p.id + " " + p.title, badge(r.p[j])]; })));
    root.appendChild(el("h3", { text: "Findings that need attention" }));
    root.appendChild(table(["Rule", "Status", "Severity", "Message", "Location", "Needs"], r.findings.map(function (f) {
      return [D.rules[f[0]] || "", badge(f[1]), f[2], f[3], f[4] + (f[5] ? ":" + f[5] : ""), f[6]];
    }), { cls: "findings" }));
    if (r.more) root.appendChild(el("p", { text: r.more + " more in the run record." }));
  }
  function repositoryView() {
    var root = document.getElementById("view-repository");
    picker = el("select", { id: "repo-picker", "aria-label": "repository", onchange: function () { repository(picker.value); } },
      [el("option", { value: "", text: "choose a repository" })].concat(D.repos.map(function (r) {
        return el("option", { value: r.name, text: r.name });
      })));
    root.insertBefore(picker, document.getElementById("repo-detail"));
    repository("");
  }

  document.getElementById("generated").textContent = "Generated " + D.generated_at + " from " + D.repos.length + " repositories";
  overview();
  matrixControls();
  matrix();
  trend();
  changes();
  offenders();
  waivers();
  unknowns();
  repositoryView();
  show("overview");
  window.__annexaReady = performance.now() - started;
})();
