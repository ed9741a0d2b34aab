// Cairn dashboard: three views over the REST API (runs, one run, compare), live through
// server-sent events. Plain DOM building only (text goes in as text, never as HTML).
(function () {
  "use strict";

  var COLORS = ["#3b6fd8", "#e8710a", "#1b873f", "#c62828", "#7b1fa2", "#00838f", "#6d4c41",
    "#ad1457", "#558b2f", "#283593"];
  var view = document.getElementById("view");
  var crumbs = document.getElementById("crumbs");
  var connection = document.getElementById("connection");
  var cleanup = [];

  // ---------- helpers ----------
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") e.textContent = v;
        else if (k === "class") e.className = v;
        else if (k.indexOf("on") === 0) e.addEventListener(k.substring(2), v);
        else if (k === "style") e.setAttribute("style", v);
        else e.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x) e.appendChild(x); });
      else e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }

  // ---------- the credential ----------
  // The printed URL carries the token in its fragment (#token=...), which the browser never sends
  // to any server. The page keeps it in sessionStorage, which belongs to this origin (scheme,
  // host and port) alone: another server on 127.0.0.1 cannot read it, and a dashboard on another
  // port keeps its own. It goes out only as an Authorization header; no cookie is ever set.
  var TOKEN_KEY = "cairn-dashboard-token";
  (function takeToken() {
    var found = null;
    var h = location.hash.match(/^#(?:.*&)?token=([^&]*)/);
    var q = location.search.match(/[?&]token=([^&]*)/); // URLs printed by older versions
    if (h) found = h[1]; else if (q) found = q[1];
    if (found !== null) {
      try { sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(found)); } catch (e) { /* private mode */ }
      history.replaceState(null, "", location.pathname + "#/");
    }
  })();

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function needToken(message) {
    view.replaceChildren(el("div", { class: "error-box", id: "need-token" },
      el("b", { text: "This page needs the dashboard's token. " }),
      "Open the URL that cairn serve (or cairn demo --serve) printed: it ends with #token=… ",
      el("span", { class: "muted", text: "(" + message + ")" })));
  }

  function api(path, options) {
    options = options || {};
    options.credentials = "omit";
    var t = token();
    options.headers = Object.assign({ "Accept": "application/json" },
      t ? { "Authorization": "Bearer " + t } : {}, options.headers || {});
    return fetch(path, options).then(function (r) {
      return r.text().then(function (t) {
        var body = null;
        try { body = t ? JSON.parse(t) : null; } catch (e) { body = { error: t }; }
        if (!r.ok) {
          var err = new Error((body && body.error) || ("HTTP " + r.status));
          err.status = r.status;
          if (r.status === 401) needToken(err.message);
          throw err;
        }
        return body;
      });
    });
  }

  function enc(s) { return encodeURIComponent(s); }

  function fmtNum(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits || 3);
    return Number(v.toPrecision(digits || 4)).toString();
  }

  // Axis ticks: short ("1e-6", "0.25", "2.5e+6"), or they overlap on a log scale.
  function fmtAxis(v) {
    if (v === null || v === undefined || !isFinite(v)) return "";
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2).replace(/\.?0+e/, "e");
    return Number(v.toPrecision(3)).toString();
  }

  function fmtInt(v) {
    return (v === null || v === undefined) ? "–" : Number(v).toLocaleString("en-US");
  }

  function fmtDuration(s) {
    if (s === null || s === undefined || !isFinite(s)) return "–";
    s = Math.max(0, Math.round(s));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }

  function fmtAge(s) { return (s === null || s === undefined) ? "–" : fmtDuration(s) + " ago"; }

  function fmtBytes(b) {
    if (b === null || b === undefined) return "–";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i === 0 ? b : b.toFixed(1)) + " " + u[i];
  }

  function fmtTime(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function bar(percent, big) {
    var p = (percent === null || percent === undefined || !isFinite(percent)) ? 0 : percent;
    return el("span", { class: "bar" + (big ? " big" : ""), title: fmtNum(p, 3) + "%" },
      el("span", { style: "width:" + Math.max(0, Math.min(100, p)) + "%" }));
  }

  // A run of several ranks names the rank that is gone or stalled under its status.
  function rankNote(r) {
    return r.rank_problems ? el("div", { class: "muted rank-note", text: r.rank_problems.join("; ") }) : null;
  }

  function badge(status) {
    return el("span", { class: "badge status-" + status, text: status });
  }

  function toast(kind, message, millis) {
    var t = el("div", { class: "toast toast-" + kind, role: "status", text: message });
    document.getElementById("toasts").appendChild(t);
    setTimeout(function () { t.remove(); }, millis || 8000);
  }

  function onLeave(fn) { cleanup.push(fn); }

  function flatten(obj, prefix, out) {
    out = out || {};
    if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      out[prefix || "(value)"] = JSON.stringify(obj);
      return out;
    }
    Object.keys(obj).sort().forEach(function (k) {
      var key = prefix ? prefix + "." + k : k;
      var v = obj[k];
      if (v !== null && typeof v === "object" && !Array.isArray(v)) flatten(v, key, out);
      else out[key] = JSON.stringify(v);
    });
    return out;
  }

  // Merges series with different steps into uPlot's one-x-axis table (gaps as null).
  function align(list) {
    var seen = {}, xs = [];
    list.forEach(function (s) {
      if (!s) return;
      for (var i = 0; i < s.steps.length; i++) {
        var x = s.steps[i];
        if (!seen.hasOwnProperty(x)) { seen[x] = true; xs.push(x); }
      }
    });
    xs.sort(function (a, b) { return a - b; });
    var index = {};
    xs.forEach(function (x, i) { index[x] = i; });
    var data = [xs];
    list.forEach(function (s) {
      var col = new Array(xs.length).fill(null);
      if (s) {
        var ys = s.values;
        for (var i = 0; i < s.steps.length; i++) col[index[s.steps[i]]] = ys[i];
      }
      data.push(col);
    });
    return data;
  }

  // ---------- charts ----------
  // A chart card: title, optional controls, and a uPlot drawn from series the caller fetches.
  function Chart(card, title, opts) {
    this.card = card;
    this.title = title;
    this.opts = opts || {};
    this.plot = null;
    this.signature = "";
    this.body = el("div", { class: "chart-body" }, el("div", { class: "empty", text: "no data yet" }));
    card.appendChild(this.body);
  }

  Chart.prototype.width = function () {
    return Math.max(300, Math.floor(this.card.clientWidth - 24));
  };

  // lines: [{label, color, steps, values, dash, width}]
  Chart.prototype.draw = function (lines, log) {
    var points = 0, lastStep = null;
    lines = lines.filter(function (l) { return l && l.steps && l.steps.length; });
    lines.forEach(function (l) {
      points += l.steps.length;
      var ls = l.steps[l.steps.length - 1];
      if (lastStep === null || ls > lastStep) lastStep = ls;
    });
    this.card.setAttribute("data-points", String(points));
    this.card.setAttribute("data-last-step", lastStep === null ? "" : String(lastStep));
    if (!lines.length) {
      if (this.plot) { this.plot.destroy(); this.plot = null; this.signature = ""; }
      this.body.replaceChildren(el("div", { class: "empty", text: "no data yet" }));
      return;
    }
    // A log scale drops values at or below zero (a loss that reached 0 exactly) as gaps, as
    // long as something positive is left to draw.
    var anyPositive = lines.some(function (l) { return l.values.some(function (v) { return v !== null && v > 0; }); });
    var useLog = !!log && anyPositive;
    if (useLog) {
      lines = lines.map(function (l) {
        return Object.assign({}, l, { values: l.values.map(function (v) { return v !== null && v > 0 ? v : null; }) });
      });
    }
    var data = align(lines);
    var signature = lines.map(function (l) { return l.label; }).join("|") + "|" + useLog;
    if (this.plot && signature === this.signature) {
      this.plot.setData(data);
      return;
    }
    if (this.plot) this.plot.destroy();
    this.signature = signature;
    this.body.replaceChildren();
    var xLabel = this.opts.time ? "time" : "step";
    var series = [{ label: xLabel }].concat(lines.map(function (l) {
      return { label: l.label, stroke: l.color, width: l.width || 1.5, dash: l.dash,
        spanGaps: true, points: { show: l.steps.length < 60 },
        value: function (u, v) { return v === null ? "–" : fmtNum(v, 5); } };
    }));
    this.plot = new uPlot({
      width: this.width(), height: this.opts.height || 260,
      scales: { x: { time: !!this.opts.time }, y: useLog ? { distr: 3 } : {} },
      axes: [{ label: xLabel }, { size: 64, values: function (u, vals) { return vals.map(fmtAxis); } }],
      series: series,
      legend: { live: true },
      cursor: { drag: { x: true, y: false } }
    }, data, this.body);
  };

  Chart.prototype.resize = function () {
    if (this.plot && this.plot.width !== this.width()) this.plot.setSize({ width: this.width(), height: this.opts.height || 260 });
  };

  // Redraws charts at their card's width whenever it changes: a window resize, and also a
  // vertical scrollbar appearing as the page grows (a chart drawn wider than its card would
  // make the whole page scroll sideways).
  function watchWidth(list) {
    var onResize = function () { list.forEach(function (c) { c.resize(); }); };
    if (window.ResizeObserver) {
      var ro = new ResizeObserver(onResize);
      list.forEach(function (c) { ro.observe(c.card); });
      onLeave(function () { ro.disconnect(); });
    } else {
      window.addEventListener("resize", onResize);
      onLeave(function () { window.removeEventListener("resize", onResize); });
    }
  }

  function chartCard(title, metric) {
    var card = el("div", { class: "chart-card", "data-chart": metric });
    var head = el("div", { class: "chart-head" }, el("h3", { text: title }));
    card.appendChild(head);
    return { card: card, head: head };
  }

  function pointsFor(chart) { return Math.min(2000, Math.max(200, chart.width())); }

  // ---------- event stream ----------
  // An EventSource cannot send a header, so each connection opens with a single-use ticket from
  // an authenticated POST; a dropped stream (server restart, network) reconnects with a new one.
  function stream(run, handlers) {
    var es = null, closed = false, retry = null, delay = 1000;
    function down() { connection.className = "conn down"; connection.textContent = "reconnecting"; }
    function later() {
      if (closed) return;
      down();
      retry = setTimeout(open, delay);
      delay = Math.min(2 * delay, 15000);
    }
    function open() {
      api("/api/stream-tickets", { method: "POST" }).then(function (t) {
        if (closed) return;
        es = new EventSource("/api/runs/" + enc(run) + "/events?ticket=" + enc(t.ticket));
        es.onopen = function () {
          delay = 1000; connection.className = "conn live"; connection.textContent = "live";
          if (handlers.open) handlers.open();
        };
        es.onerror = function () { es.close(); es = null; later(); };
        Object.keys(handlers).filter(function (k) { return k !== "open"; }).forEach(function (type) {
          es.addEventListener(type, function (e) {
            var data;
            try { data = JSON.parse(e.data); } catch (x) { return; }
            handlers[type](data);
          });
        });
      }).catch(function (e) { if (e.status !== 401) later(); });
    }
    open();
    onLeave(function () {
      closed = true;
      clearTimeout(retry);
      if (es) es.close();
      connection.className = "conn"; connection.textContent = "";
    });
  }

  // ---------- runs view ----------
  var runsSort = { key: "name", dir: 1 };
  var picked = {};

  function renderRuns() {
    crumbs.replaceChildren(el("span", { text: "Runs" }));
    var compareBtn = el("button", { id: "compare-btn", class: "primary", disabled: true, text: "Compare selected",
      onclick: function () { location.hash = "#/compare?runs=" + Object.keys(picked).filter(function (k) { return picked[k]; }).map(enc).join(","); } });
    var columns = [
      ["", null], ["Run", "name"], ["Status", "status"], ["Progress", "percent"], ["Step", "step"],
      ["ETA", "eta_seconds"], ["Loss", "loss"], ["Last checkpoint", "last_checkpoint_age_seconds"],
      ["Heartbeat", "heartbeat_age_seconds"], ["Sessions", "sessions"]];
    var headRow = el("tr", null, columns.map(function (c) {
      var th = el("th", c[1] ? { "data-sort": c[1], text: c[0] } : { text: c[0] });
      if (c[1]) th.addEventListener("click", function () {
        runsSort = { key: c[1], dir: runsSort.key === c[1] ? -runsSort.dir : 1 };
        refresh();
      });
      return th;
    }));
    var tbody = el("tbody");
    var table = el("table", { id: "runs-table" }, el("thead", null, headRow), tbody);
    var summary = el("span", { class: "muted" });
    view.replaceChildren(el("h2", { text: "Runs" }),
      el("div", { class: "toolbar" }, summary, el("span", { class: "spacer" }), compareBtn),
      el("div", { class: "card" }, el("div", { class: "table-scroll" }, table)));

    function updateCompare() {
      var n = Object.keys(picked).filter(function (k) { return picked[k]; }).length;
      compareBtn.disabled = n < 2;
      compareBtn.textContent = n >= 2 ? "Compare " + n + " runs" : "Compare selected";
    }

    function refresh() {
      api("/api/runs").then(function (runs) {
        headRow.querySelectorAll("th[data-sort]").forEach(function (th) {
          th.className = th.getAttribute("data-sort") === runsSort.key ? (runsSort.dir > 0 ? "asc" : "desc") : "";
        });
        runs.sort(function (a, b) {
          var x = a[runsSort.key], y = b[runsSort.key];
          if (x === y) return 0;
          if (x === null || x === undefined) return 1;
          if (y === null || y === undefined) return -1;
          return (x < y ? -1 : 1) * runsSort.dir;
        });
        var running = runs.filter(function (r) { return r.status === "running"; }).length;
        summary.textContent = runs.length + " run" + (runs.length === 1 ? "" : "s") + ", " + running + " running";
        tbody.replaceChildren.apply(tbody, runs.map(function (r) {
          var box = el("input", { type: "checkbox", class: "pick", "aria-label": "select " + r.name });
          box.checked = !!picked[r.name];
          box.addEventListener("change", function () { picked[r.name] = box.checked; updateCompare(); });
          return el("tr", { "data-run": r.name },
            el("td", null, box),
            el("td", null, el("a", { class: "run-link", href: "#/run/" + enc(r.name), text: r.name })),
            el("td", null, badge(r.status), rankNote(r)),
            el("td", null, bar(r.percent), " ", el("span", { class: "muted", text: r.percent === null || r.percent === undefined ? "" : fmtNum(r.percent, 3) + "%" })),
            el("td", { class: "num", text: r.total_steps ? fmtInt(r.step) + " / " + fmtInt(r.total_steps) : fmtInt(r.step) }),
            el("td", { class: "num", text: r.status === "running" ? fmtDuration(r.eta_seconds) : "–" }),
            el("td", { class: "num", text: fmtNum(r.loss) }),
            el("td", { class: "num", text: r.last_checkpoint_step === null || r.last_checkpoint_step === undefined ? "none" : "step " + fmtInt(r.last_checkpoint_step) + ", " + fmtAge(r.last_checkpoint_age_seconds) }),
            el("td", { class: "num", text: fmtAge(r.heartbeat_age_seconds) }),
            el("td", { class: "num", text: String(r.sessions === undefined ? "–" : r.sessions) }));
        }));
        if (!runs.length) tbody.appendChild(el("tr", null, el("td", { colspan: "10", class: "muted", text: "No runs in this folder yet." })));
        updateCompare();
      }).catch(function (e) { toast("error", "Could not list runs: " + e.message); });
    }
    refresh();
    var timer = setInterval(refresh, 2000);
    onLeave(function () { clearInterval(timer); });
  }

  // ---------- run view ----------
  // ---------- system panel ----------
  // CPU, memory, GPUs and disk from the run's system.jsonl, over time; hidden until a sample exists.
  function systemPanel(run) {
    var cpuC = chartCard("CPU (%)", "system-cpu");
    var memC = chartCard("Memory (GiB)", "system-memory");
    var gpuC = chartCard("GPU (%)", "system-gpu");
    var diskC = chartCard("Disk free (GiB)", "system-disk");
    var opts = { time: true, height: 200 };
    var charts = { cpu: new Chart(cpuC.card, "CPU", opts), mem: new Chart(memC.card, "Memory", opts),
      gpu: new Chart(gpuC.card, "GPU", opts), disk: new Chart(diskC.card, "Disk", opts) };
    var latest = el("div", { class: "muted", id: "system-latest" });
    var grid = el("div", { class: "charts" }, cpuC.card, memC.card, gpuC.card, diskC.card);
    var card = el("div", { class: "card", id: "system-panel", style: "margin-top:14px;display:none" },
      el("h3", { text: "System" }), latest, grid);
    var colors = ["#3b6fd8", "#e8710a", "#1b873f", "#7b1fa2", "#00838f", "#c62828", "#6d4c41", "#455a64"];
    function line(s, key, label, i, scale) {
      var x = s[key];
      if (!x) return null;
      return { label: label, color: colors[i % colors.length], steps: x.times,
        values: scale ? x.values.map(function (v) { return v === null ? null : v / scale; }) : x.values };
    }
    function refresh() {
      var n = Math.min(1000, Math.max(200, charts.cpu.width()));
      api("/api/runs/" + enc(run) + "/system?max_points=" + n).then(function (d) {
        if (!d.samples) return;
        card.style.display = "";
        var s = d.series, gib = 1 << 30;
        charts.cpu.draw([line(s, "process_cpu_percent", "process (100 = one core)", 0),
          line(s, "machine_cpu_percent", "machine", 1)], false);
        charts.mem.draw([line(s, "rss_bytes", "process RSS", 0, gib), line(s, "heap_used_bytes", "heap used", 1, gib),
          line(s, "heap_max_bytes", "heap max", 2, gib)], false);
        var gpus = Object.keys(s).filter(function (k) { return /^gpu\d+_utilization_percent$/.test(k); }).sort();
        gpuC.card.style.display = gpus.length ? "" : "none";
        var gpuLines = [];
        gpus.forEach(function (k, i) {
          var g = k.replace("_utilization_percent", "");
          gpuLines.push(line(s, k, g + " use", 2 * i));
          var used = s[g + "_memory_used_bytes"], total = s[g + "_memory_total_bytes"];
          if (used && total) {
            gpuLines.push({ label: g + " memory", color: colors[(2 * i + 1) % colors.length], steps: used.times,
              values: used.values.map(function (v, j) { var t = total.values[j]; return v === null || !t ? null : 100 * v / t; }) });
          }
        });
        charts.gpu.draw(gpuLines, false);
        charts.disk.draw([line(s, "disk_free_bytes", "free", 0, gib)], false);
        var l = d.latest || {};
        var parts = [];
        if (l.process_cpu_percent !== undefined) parts.push("process CPU " + fmtNum(l.process_cpu_percent, 3) + "%");
        if (l.machine_cpu_percent !== undefined) parts.push("machine CPU " + fmtNum(l.machine_cpu_percent, 3) + "%");
        if (l.rss_bytes !== undefined) parts.push("RSS " + fmtBytes(l.rss_bytes));
        if (l.heap_used_bytes !== undefined) parts.push("heap " + fmtBytes(l.heap_used_bytes) + (l.heap_max_bytes ? " / " + fmtBytes(l.heap_max_bytes) : ""));
        if (l.gc_seconds !== undefined) parts.push("GC " + fmtNum(l.gc_seconds, 3) + " s");
        if (l.disk_free_bytes !== undefined) parts.push("disk free " + fmtBytes(l.disk_free_bytes));
        gpus.forEach(function (k) {
          var g = k.replace("_utilization_percent", "");
          parts.push(g + " " + (l[g + "_name"] || "") + " " + fmtNum(l[k], 3) + "%");
        });
        latest.textContent = "Latest (" + fmtTime(l.time) + "): " + parts.join(", ");
      }).catch(function () { /* an older run without system.jsonl: the panel stays hidden */ });
    }
    refresh();
    var timer = setInterval(refresh, 10000);
    onLeave(function () { clearInterval(timer); });
    return { card: card, charts: charts };
  }

  function renderRun(run) {
    crumbs.replaceChildren(el("a", { href: "#/", text: "Runs" }), " / ", el("span", { text: run }));
    var state = { step: 0, status: "", metrics: [], pending: {}, answered: {}, other: null, log: true };
    var title = el("h2", { id: "run-title", text: run });
    var statusBadge = el("span");
    var progressBar = el("span");
    var stats = el("div", { class: "run-head" });
    var saveBtn = el("button", { id: "save-btn", class: "primary", text: "Save Checkpoint" });
    var stopBtn = el("button", { id: "stop-btn", class: "danger", text: "Stop" });
    var head = el("div", { class: "card" },
      el("div", { class: "toolbar" }, title, statusBadge, el("span", { class: "spacer" }), saveBtn, stopBtn),
      el("div", { class: "run-head" }, progressBar, stats));

    var lossC = chartCard("Loss", "loss");
    var logBox = el("input", { type: "checkbox", id: "log-scale" });
    logBox.checked = true;
    lossC.head.appendChild(el("label", { class: "muted" }, logBox, " log scale"));
    var lrC = chartCard("Learning rate", "lr");
    var tpC = chartCard("Throughput", "throughput");
    var otherC = chartCard("Metric", "other");
    var select = el("select", { id: "metric-select", "aria-label": "metric" });
    otherC.head.appendChild(select);
    var charts = {
      loss: new Chart(lossC.card, "Loss"), lr: new Chart(lrC.card, "Learning rate"),
      throughput: new Chart(tpC.card, "Throughput"), other: new Chart(otherC.card, "Metric")
    };
    var timeline = el("div", { class: "timeline", id: "sessions" });
    var sessionsNote = el("div", { class: "muted" });
    var events = el("div", { class: "events", id: "events-list" });
    var config = el("table", { class: "config", id: "config" });
    var ckptBody = el("tbody");
    var ckptTable = el("table", { id: "checkpoints-table" },
      el("thead", null, el("tr", null, ["Step", "Name", "Saved", "Size", "Metrics", "Flags", "Verified", ""].map(function (h) { return el("th", { text: h }); }))),
      ckptBody);

    var system = systemPanel(run);
    view.replaceChildren(head,
      el("div", { class: "charts" }, lossC.card, lrC.card, tpC.card, otherC.card),
      system.card,
      el("div", { class: "card", style: "margin-top:14px" }, el("h3", { text: "Checkpoints" }),
        el("div", { class: "table-scroll" }, ckptTable)),
      el("div", { class: "card" }, el("h3", { text: "Sessions" }), timeline, sessionsNote),
      el("div", { class: "grid2" },
        el("div", { class: "card" }, el("h3", { text: "Events" }), events),
        el("div", { class: "card" }, el("h3", { text: "Config" }), config)));

    function showStatus(s) {
      state.step = s.step; state.status = s.status;
      statusBadge.replaceChildren(badge(s.status));
      progressBar.replaceChildren(bar(s.percent, true));
      saveBtn.disabled = !(s.status === "running" || s.status === "stalled");
      saveBtn.title = saveBtn.disabled ? "only a running job can save" : "save a checkpoint at the next step";
      stopBtn.disabled = saveBtn.disabled || !!state.stopping;
      stopBtn.title = saveBtn.disabled ? "only a running job can be stopped" : "save at the next step, then end the job's session";
      stats.replaceChildren(
        stat("step", s.total_steps ? fmtInt(s.step) + " / " + fmtInt(s.total_steps) : fmtInt(s.step)),
        stat("progress", s.percent === null ? "–" : fmtNum(s.percent, 3) + "%"),
        stat("ETA", s.status === "running" ? fmtDuration(s.eta_seconds) : "–"),
        stat("loss", fmtNum(s.loss)),
        stat("last checkpoint", s.last_checkpoint_step === null ? "none" : "step " + fmtInt(s.last_checkpoint_step) + ", " + fmtAge(s.last_checkpoint_age_seconds)),
        stat("heartbeat", fmtAge(s.heartbeat_age_seconds)),
        stat("ranks", s.rank_problems ? s.rank_problems.join("; ") : "–"),
        // /api/runs/{run} lists the session records under "sessions"; the status has their count.
        stat("sessions", String(Array.isArray(s.sessions)
          ? s.sessions.filter(function (r) { return r.type === "start"; }).length : s.sessions)));
    }

    function stat(label, value) {
      return el("div", { class: "stat" }, el("small", { text: label }), el("b", { text: value }));
    }

    function addEvent(e, top) {
      var lvl = e.level === "warn" || e.level === "warning" ? "lvl-warn" : (e.level === "error" ? "lvl-error" : "");
      var row = el("div", { class: lvl },
        el("time", { text: fmtTime(e.time) }),
        el("b", { text: e.type || "" }), " ",
        el("span", { text: (e.step !== undefined && e.step >= 0 ? "step " + e.step + ": " : "") + (e.message || "") }));
      if (top) events.insertBefore(row, events.firstChild); else events.appendChild(row);
      while (events.childNodes.length > 300) events.removeChild(events.lastChild);
    }

    function showSessions(sessions) {
      var list = [], open = null;
      sessions.forEach(function (r) {
        if (r.type === "start") { open = { n: r.session, start: Date.parse(r.time), end: null, reason: null }; list.push(open); }
        else if (r.type === "end" && open) { open.end = Date.parse(r.time); open.reason = r.reason; open.step = r.step; open = null; }
      });
      timeline.replaceChildren();
      if (!list.length) { sessionsNote.textContent = "no sessions"; return; }
      var now = Date.now();
      var t0 = list[0].start;
      var t1 = Math.max.apply(null, list.map(function (s) { return s.end || now; }));
      var span = Math.max(1, t1 - t0);
      list.forEach(function (s, i) {
        var end = s.end || (i === list.length - 1 && state.status === "running" ? now : (list[i + 1] ? list[i + 1].start : now));
        var left = 100 * (s.start - t0) / span, width = 100 * (end - s.start) / span;
        var last = i === list.length - 1;
        var reason = s.reason || (!last ? "killed" :
          (state.status === "running" || state.status === "stalled") ? state.status :
          (state.status === "dead" ? "killed" : state.status || "no end"));
        timeline.appendChild(el("div", { class: "session reason-" + reason + (s.end ? "" : " open"),
          style: "left:" + left + "%;width:" + width + "%",
          title: "session " + s.n + ": " + fmtTime(new Date(s.start).toISOString()) + " to " + (s.end ? fmtTime(new Date(s.end).toISOString()) : "no end recorded") + " (" + reason + ")",
          text: "#" + s.n + " " + reason }));
      });
      sessionsNote.textContent = list.length + " session" + (list.length === 1 ? "" : "s") + " over " + fmtDuration(span / 1000) +
        "; a session without an end was killed or is still running.";
    }

    function showConfig(cfg) {
      var flat = flatten(cfg || {});
      config.replaceChildren.apply(config, Object.keys(flat).map(function (k) {
        return el("tr", null, el("td", { text: k }), el("td", { text: flat[k] }));
      }));
    }

    function refreshCheckpoints() {
      return api("/api/runs/" + enc(run) + "/checkpoints").then(function (list) {
        ckptBody.replaceChildren.apply(ckptBody, list.map(function (c) {
          var flags = el("td");
          if (c.pinned) flags.appendChild(el("span", { class: "flag pinned", text: c.named ? "pinned (named)" : "pinned" }));
          if (c.best) flags.appendChild(el("span", { class: "flag best", text: "best" }));
          if (c.latest) flags.appendChild(el("span", { class: "flag latest", text: "latest" }));
          var metrics = Object.keys(c.metrics || {}).sort().map(function (k) { return k + " " + fmtNum(c.metrics[k]); }).join(", ");
          var action = c.named ? el("span", { class: "muted", text: "" }) :
            el("button", { class: "pin-btn", text: c.pinned ? "Unpin" : "Pin", onclick: function (ev) {
              ev.target.disabled = true;
              api("/api/runs/" + enc(run) + "/checkpoints/" + enc(c.id) + "/" + (c.pinned ? "unpin" : "pin"), { method: "POST" })
                .then(function () { toast("ok", (c.pinned ? "Unpinned " : "Pinned ") + c.id); refreshCheckpoints(); })
                .catch(function (e) { toast("error", e.message); ev.target.disabled = false; });
            } });
          return el("tr", { "data-ckpt": c.id, "data-step": String(c.step) },
            el("td", { class: "num", text: fmtInt(c.step) }),
            el("td", { text: c.name || "" }),
            el("td", { text: fmtTime(c.time) }),
            el("td", { class: "num", text: fmtBytes(c.bytes) }),
            el("td", { class: "muted wrap", text: metrics, title: c.path }),
            flags,
            el("td", { class: "wrap verified-" + c.verified, text: c.verified === "damaged" || c.verified === "unreadable" ? c.verified + ": " + (c.problem || "") : c.verified }),
            el("td", null, action));
        }));
        if (!list.length) ckptBody.appendChild(el("tr", null, el("td", { colspan: "8", class: "muted", text: "No checkpoints yet." })));
      }).catch(function (e) { toast("error", "Could not list checkpoints: " + e.message); });
    }

    var refreshing = false, again = false, lastDraw = 0, drawTimer = null;
    function refreshCharts() {
      if (refreshing) { again = true; return; }
      refreshing = true;
      var n = pointsFor(charts.loss);
      var otherKey = state.other;
      var keys = ["loss", "val_loss", "lr", "samples_per_s", "steps_per_s"];
      if (otherKey && keys.indexOf(otherKey) < 0) keys.push(otherKey);
      var url = "/api/runs/" + enc(run) + "/metrics?max_points=" + n + "&smooth=auto&keys=" + keys.map(enc).join(",");
      api(url).then(function (m) {
        var s = m.series;
        var lossLines = [];
        if (s.loss) {
          lossLines.push({ label: "loss", color: "rgba(59,111,216,0.35)", steps: s.loss.steps, values: s.loss.values, width: 1 });
          lossLines.push({ label: "loss (avg " + s.loss.smooth_window + ")", color: "#3b6fd8", steps: s.loss.steps, values: s.loss.smoothed, width: 2 });
        }
        if (s.val_loss) lossLines.push({ label: "val_loss", color: "#e8710a", steps: s.val_loss.steps, values: s.val_loss.values, width: 2 });
        charts.loss.draw(lossLines, logBox.checked);
        charts.lr.draw([s.lr && { label: "lr", color: "#1b873f", steps: s.lr.steps, values: s.lr.values }], false);
        var tp = s.samples_per_s ? { label: "samples/s", s: s.samples_per_s } : (s.steps_per_s ? { label: "steps/s", s: s.steps_per_s } : null);
        charts.throughput.draw([tp && { label: tp.label, color: "#7b1fa2", steps: tp.s.steps, values: tp.s.values }], false);
        var o = otherKey && s[otherKey];
        charts.other.draw([o && { label: otherKey, color: "#00838f", steps: o.steps, values: o.values }], false);
      }).catch(function (e) { toast("error", "Could not read metrics: " + e.message); })
        .then(function () {
          refreshing = false; lastDraw = Date.now();
          if (again) { again = false; scheduleCharts(); }
        });
    }
    function scheduleCharts() {
      if (drawTimer) return;
      var wait = Math.max(0, 1000 - (Date.now() - lastDraw));
      drawTimer = setTimeout(function () { drawTimer = null; refreshCharts(); }, wait);
    }
    onLeave(function () { if (drawTimer) clearTimeout(drawTimer); });
    logBox.addEventListener("change", function () { charts.loss.signature = ""; refreshCharts(); });
    select.addEventListener("change", function () { state.other = select.value; charts.other.signature = ""; refreshCharts(); });

    function fillSelect(names) {
      var skip = ["loss", "val_loss", "lr"];
      var options = names.filter(function (n) { return skip.indexOf(n) < 0; });
      if (options.join() === state.metrics.join()) return;
      state.metrics = options;
      if (!state.other || options.indexOf(state.other) < 0) {
        var rest = options.filter(function (n) { return n !== "samples_per_s" && n !== "steps_per_s"; });
        state.other = options.indexOf("val_accuracy") >= 0 ? "val_accuracy" : (rest[0] || options[0] || null);
      }
      select.replaceChildren.apply(select, options.map(function (n) {
        var o = el("option", { value: n, text: n });
        if (n === state.other) o.selected = true;
        return o;
      }));
    }

    function load() {
      return api("/api/runs/" + enc(run)).then(function (d) {
        showStatus(d);
        fillSelect(d.metrics || []);
        if (d.metric_names_over_limit && !state.warnedLimit) {
          state.warnedLimit = true;
          toast("warn", "This run logs more than " + fmtInt(d.metric_names_limit) + " metric names; the dashboard follows the first " + fmtInt(d.metric_names_limit) + " it read.", 15000);
        }
        events.replaceChildren();
        (d.events || []).slice().reverse().forEach(function (e) { addEvent(e, false); });
        showSessions(d.session_records || []);
        showConfig(d.config);
        refreshCharts();
        refreshCheckpoints();
        return d;
      });
    }

    load().catch(function (e) {
      view.replaceChildren(el("div", { class: "error-box", text: "Run '" + run + "': " + e.message }));
    });

    var sessionsTimer = setInterval(function () {
      api("/api/runs/" + enc(run)).then(function (d) { showSessions(d.session_records || []); fillSelect(d.metrics || []); }).catch(function () {});
    }, 10000);
    onLeave(function () { clearInterval(sessionsTimer); });

    stream(run, {
      metrics: function () { scheduleCharts(); },
      progress: function (s) { showStatus(s); },
      event: function (e) { addEvent(e, true); if (e.type === "session_started" || e.type === "finished") load(); },
      // Each (re)connection starts with what is new from then on: answers the stream could
      // not carry (sent before it connected, or while it was down) are in the run's events.
      open: function () {
        if (!Object.keys(state.pending).length) return;
        api("/api/runs/" + enc(run)).then(function (d) { (d.events || []).forEach(settle); }).catch(function () {});
        refreshCheckpoints();
      },
      checkpoint: function (e) {
        settle(e);
        if (e.type === "checkpoint_failed") {
          toast("error", "Saving step " + e.step + " failed: " + (e.error || e.message), 15000);
        }
        refreshCheckpoints();
      }
    });

    // The job's answer to a save request: shown once, whether it comes before the page has
    // the request's id (a fast job), on the stream, or from the events after a reconnection.
    function settle(e) {
      if (!e.request_id || (e.type !== "save_request_done" && e.type !== "save_request_failed")) return;
      var p = state.pending[e.request_id];
      if (!p) { state.answered[e.request_id] = e; return; }
      delete state.pending[e.request_id];
      clearTimeout(p.timer);
      if (e.type === "save_request_done" && p.stop) {
        toast("ok", "Stopping: saved step " + e.step + ": " + e.path + "; the job is ending its session", 12000);
        awaitStopped();
      } else if (e.type === "save_request_done") toast("ok", "Saved step " + e.step + (p.name ? " as '" + p.name + "'" : "") + ": " + e.path, 12000);
      else toast("error", (p.stop ? "Stop failed: " : "Save failed: ") + (e.error || e.message), 15000);
    }

    var dialog = document.getElementById("save-dialog");
    var nameInput = document.getElementById("save-name");
    saveBtn.addEventListener("click", function () {
      nameInput.value = "manual-step-" + state.step;
      dialog.showModal();
      nameInput.select();
    });
    document.getElementById("save-cancel").onclick = function () { dialog.close("cancel"); };
    document.getElementById("save-form").onsubmit = function (ev) {
      ev.preventDefault();
      var name = nameInput.value.trim();
      dialog.close("ok");
      saveBtn.disabled = true;
      api("/api/runs/" + enc(run) + "/checkpoints", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: name || null })
      }).then(function (r) {
        toast("info", r.coalesced ? "A save is already waiting for the job: this request joins it…" :
          "Save requested at step " + fmtInt(r.step) + (r.name ? " as '" + r.name + "'" : "") + "…", 4000);
        if (state.pending[r.request_id]) return; // joined a save this page already waits for
        state.pending[r.request_id] = { name: r.name, timer: setTimeout(function () {
          if (state.pending[r.request_id]) toast("warn", "No answer from the job yet for save request " + r.request_id + "; is it still running?", 10000);
        }, 60000) };
        var early = state.answered[r.request_id];
        if (early) { delete state.answered[r.request_id]; settle(early); }
      }).catch(function (e) { toast("error", "Save refused: " + e.message, 12000); })
        .then(function () { saveBtn.disabled = !(state.status === "running" || state.status === "stalled"); });
    };
    // Stop: a confirm dialog, then a stop request; the job answers like a save, then ends.
    var stopDialog = document.getElementById("stop-dialog");
    stopBtn.addEventListener("click", function () { stopDialog.showModal(); });
    document.getElementById("stop-cancel").onclick = function () { stopDialog.close("cancel"); };
    document.getElementById("stop-form").onsubmit = function (ev) {
      ev.preventDefault();
      stopDialog.close("ok");
      stopBtn.disabled = true;
      api("/api/runs/" + enc(run) + "/stop", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: "{}"
      }).then(function (r) {
        state.stopping = true;
        toast("info", "Stop requested at step " + fmtInt(r.step) + ": the job saves at its next step…", 4000);
        state.pending[r.request_id] = { stop: true, timer: setTimeout(function () {
          if (state.pending[r.request_id]) toast("warn", "No answer from the job yet for stop request " + r.request_id + "; is it still running?", 10000);
        }, 60000) };
        var early = state.answered[r.request_id];
        if (early) { delete state.answered[r.request_id]; settle(early); }
      }).catch(function (e) {
        toast("error", "Stop refused: " + e.message, 12000);
        stopBtn.disabled = !(state.status === "running" || state.status === "stalled");
      });
    };
    var stopTimer = null;
    function awaitStopped() {
      if (stopTimer) return;
      stopTimer = setInterval(function () {
        api("/api/runs/" + enc(run)).then(function (d) {
          showStatus(d);
          if (d.status !== "running" && d.status !== "stalled") {
            clearInterval(stopTimer); stopTimer = null; state.stopping = false;
            toast("ok", "Run " + run + " is " + d.status + " at step " + fmtInt(d.step) + "; start the job again to resume it", 15000);
            load();
          }
        }).catch(function () {});
      }, 1000);
    }
    onLeave(function () {
      if (stopTimer) clearInterval(stopTimer);
      document.getElementById("stop-form").onsubmit = null;
    });
    onLeave(function () {
      document.getElementById("save-form").onsubmit = null;
      Object.keys(state.pending).forEach(function (k) { clearTimeout(state.pending[k].timer); });
    });
    watchWidth(Object.keys(charts).map(function (k) { return charts[k]; }));
  }

  // ---------- compare view ----------
  function renderCompare(runs) {
    crumbs.replaceChildren(el("a", { href: "#/", text: "Runs" }), " / ", el("span", { text: "Compare" }));
    if (runs.length < 2) {
      view.replaceChildren(el("div", { class: "error-box", text: "Pick at least two runs on the Runs page to compare." }));
      return;
    }
    var select = el("select", { id: "compare-metric", "aria-label": "metric" });
    var onlyDiff = el("input", { type: "checkbox", id: "only-diff" });
    onlyDiff.checked = true;
    var smooth = el("input", { type: "checkbox", id: "compare-smooth" });
    smooth.checked = true;
    var c = chartCard("Overlay", "compare");
    c.head.appendChild(select);
    c.head.appendChild(el("label", { class: "muted" }, smooth, " smoothed"));
    var chart = new Chart(c.card, "Overlay", { height: 360 });
    watchWidth([chart]);
    var diffBody = el("tbody");
    var legend = el("div", { class: "picker" });
    view.replaceChildren(el("h2", { text: "Compare " + runs.join(", ") }), legend, c.card,
      el("div", { class: "card", style: "margin-top:14px" },
        el("div", { class: "toolbar" }, el("h3", { text: "Config" }), el("label", { class: "muted" }, onlyDiff, " only differences")),
        el("div", { class: "table-scroll" }, el("table", { class: "config", id: "config-diff" },
          el("thead", null, el("tr", null, [el("th", { text: "key" })].concat(runs.map(function (r) { return el("th", { text: r }); })))),
          diffBody))));

    var details = {};
    Promise.all(runs.map(function (r) {
      return api("/api/runs/" + enc(r)).then(function (d) { details[r] = d; });
    })).then(function () {
      var names = {};
      runs.forEach(function (r, i) {
        (details[r].metrics || []).forEach(function (m) { names[m] = true; });
        legend.appendChild(el("span", null, el("span", { class: "badge", style: "background:" + COLORS[i % COLORS.length] + ";color:#fff", text: r }), " ", badge(details[r].status)));
      });
      var list = Object.keys(names).sort();
      select.replaceChildren.apply(select, list.map(function (n) { return el("option", { value: n, text: n }); }));
      if (list.indexOf("loss") >= 0) select.value = "loss";
      draw();
      diff();
    }).catch(function (e) { view.replaceChildren(el("div", { class: "error-box", text: e.message })); });

    function draw() {
      var key = select.value;
      if (!key) return;
      var n = pointsFor(chart);
      Promise.all(runs.map(function (r) {
        return api("/api/runs/" + enc(r) + "/metrics?keys=" + enc(key) + "&max_points=" + n + (smooth.checked ? "&smooth=auto" : ""))
          .then(function (m) { return m.series[key]; });
      })).then(function (series) {
        chart.draw(series.map(function (s, i) {
          return s && { label: runs[i], color: COLORS[i % COLORS.length], steps: s.steps, values: smooth.checked && s.smoothed ? s.smoothed : s.values, width: 2 };
        }), key.indexOf("loss") >= 0);
      }).catch(function (e) { toast("error", e.message); });
    }

    function diff() {
      var flats = runs.map(function (r) { return flatten(details[r].config || {}); });
      var keys = {};
      flats.forEach(function (f) { Object.keys(f).forEach(function (k) { keys[k] = true; }); });
      diffBody.replaceChildren.apply(diffBody, Object.keys(keys).sort().map(function (k) {
        var vals = flats.map(function (f) { return f.hasOwnProperty(k) ? f[k] : "(absent)"; });
        var differs = vals.some(function (v) { return v !== vals[0]; });
        if (onlyDiff.checked && !differs) return null;
        return el("tr", { class: differs ? "diff" : "" }, [el("td", { text: k })].concat(vals.map(function (v) { return el("td", { text: v }); })));
      }).filter(Boolean));
      if (!diffBody.childNodes.length) diffBody.appendChild(el("tr", null, el("td", { colspan: String(runs.length + 1), class: "muted", text: "The configs are identical." })));
    }
    select.addEventListener("change", function () { chart.signature = ""; draw(); });
    smooth.addEventListener("change", draw);
    onlyDiff.addEventListener("change", diff);
    var timer = setInterval(draw, 5000);
    onLeave(function () { clearInterval(timer); });
  }

  // ---------- routing ----------
  function route() {
    cleanup.forEach(function (f) { try { f(); } catch (e) { /* leaving anyway */ } });
    cleanup = [];
    var h = location.hash || "#/";
    var m;
    if ((m = h.match(/^#\/run\/([^?]+)$/))) renderRun(decodeURIComponent(m[1]));
    else if ((m = h.match(/^#\/compare\?runs=(.*)$/))) renderCompare(m[1].split(",").filter(Boolean).map(decodeURIComponent));
    else renderRuns();
  }
  window.addEventListener("hashchange", route);
  route();
})();
