// CrmActors dashboard (SPEC §10): refreshes the server-rendered page from the admin API (docs/admin-api.md) and
// sends the buttons' commands there. No library, nothing loaded from outside the listener.
'use strict';
(() => {
  const REFRESH_MS = 5000;
  const TOKEN_KEY = 'crm-admin-token'; // sessionStorage: this tab only
  const SVG = 'http://www.w3.org/2000/svg';
  const body = document.body;
  const minutes = Number(body.dataset.minutes) || 180;
  const $ = (selector, root = document) => root.querySelector(selector);

  // ---- formatting ----
  function seconds(s) {
    if (s === null || s === undefined) return '–';
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
    return `${(s / 86400).toFixed(1)} d`;
  }
  // Times in the browser's zone, on a 24-hour clock; the date only when it is not today.
  const clock = (iso, withSeconds) => new Date(iso).toLocaleTimeString([], withSeconds
    ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false } : { hour: '2-digit', minute: '2-digit', hour12: false });
  function dateTime(iso) {
    const date = new Date(iso);
    if (date.toDateString() === new Date().toDateString()) return clock(iso, true);
    return `${date.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock(iso, true)}`;
  }
  function ago(iso) {
    const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 2) return 'just now';
    if (s < 60) return `${Math.round(s)} s ago`;
    if (s < 3600) return `${Math.round(s / 60)} min ago`;
    return `${Math.round(s / 3600)} h ago`;
  }
  const count = n => Number(n).toLocaleString();
  const bucketLabel = bound => bound === null ? 'more'
    : bound < 1 ? `${Math.round(bound * 1000)}ms` : bound < 60 ? `${bound}s` : bound < 3600 ? `${bound / 60}m` : bound < 86400 ? `${bound / 3600}h` : `${bound / 86400}d`;

  function el(tag, attributes = {}, ...children) {
    const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'text') node.textContent = value; else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }
  const svg = (tag, attributes, ...children) => el('svg:' + tag, attributes, ...children);
  const titled = (node, title) => { node.append(svg('title', { text: title })); return node; };

  // ---- the API ----
  async function getJson(path) {
    const response = await fetch(path, { cache: 'no-store' });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }
  async function getText(path) {
    const response = await fetch(path, { cache: 'no-store' });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.text();
  }

  // ---- charts: SVG at the plot's own width ----
  function frame(plot, height) {
    const width = Math.max(280, Math.round(plot.clientWidth || 600));
    const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img' });
    plot.replaceChildren(root);
    return { root, width, height };
  }
  function empty(plot, text) { plot.replaceChildren(el('div', { class: 'empty', text })); }
  function niceMax(value) {
    if (value <= 0) return 1;
    const step = 10 ** Math.floor(Math.log10(value));
    return [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map(m => m * step).find(v => v >= value);
  }
  // Counts: 0, the top, and the middle when it is a whole number.
  function yAxis(root, left, right, top, bottom, max) {
    for (const fraction of [0, 0.5, 1]) {
      const y = bottom - (bottom - top) * fraction;
      root.append(svg('line', { class: fraction === 0 ? 'axis' : 'gridline', x1: left, x2: right, y1: y, y2: y }));
      if (Number.isInteger(max * fraction)) root.append(svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', text: count(max * fraction) }));
    }
  }
  // Time labels no closer than ~70 px, on round minutes.
  function timeTicks(root, from, to, x, bottom) {
    const room = Math.max(1, Math.floor((x(to) - x(from)) / 70));
    const every = [1, 2, 5, 10, 15, 30, 60, 120].find(m => (to - from) / (m * 60000) <= room) || 180;
    const step = every * 60000;
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
      root.append(svg('text', { x: x(t), y: bottom + 16, 'text-anchor': 'middle', text: clock(new Date(t).toISOString()) }));
    }
  }

  // The lateness distribution over the window: one bar per bucket of crm_reminder_delay_seconds.
  function drawHistogram(lateness) {
    const plot = $('#chart-histogram .plot');
    const buckets = lateness.window.buckets;
    if (lateness.window.count === 0) return empty(plot, 'No notification written in the last 3 hours.');
    const last = Math.max(5, buckets.findLastIndex(n => n > 0)); // always up to 1 s at least, for scale
    const shown = buckets.slice(0, last + 1);
    const { root, width, height } = frame(plot, 190);
    const left = 40, right = width - 8, top = 16, bottom = height - 26;
    const max = niceMax(Math.max(...shown));
    yAxis(root, left, right, top, bottom, max);
    const slot = (right - left) / shown.length;
    const every = Math.ceil(shown.length / Math.max(1, Math.floor((right - left) / 44)));
    shown.forEach((n, i) => {
      const bound = i < lateness.bounds.length ? lateness.bounds[i] : null;
      const label = bound === null ? `> ${bucketLabel(lateness.bounds[lateness.bounds.length - 1])}` : `≤ ${bucketLabel(bound)}`;
      const h = n === 0 ? 1 : Math.max(2, (bottom - top) * n / max);
      const x = left + i * slot + slot * 0.12;
      root.append(titled(svg('rect', {
        class: n === 0 ? 'bar zero' : 'bar', x, y: bottom - h, width: slot * 0.76, height: h, rx: 2,
        'data-bucket': bound === null ? '+Inf' : bound, 'data-count': n,
      }), `${label}: ${count(n)} notifications`));
      if (n > 0) root.append(svg('text', { class: 'value-label', x: x + slot * 0.38, y: bottom - h - 4, 'text-anchor': 'middle', text: count(n) }));
      if (i % every === 0) root.append(svg('text', { x: left + i * slot + slot / 2, y: bottom + 16, 'text-anchor': 'middle', text: label }));
    });
  }

  // Per minute: p95 (line) and the slowest (dots), on a log scale, with the 1 s promise (SPEC §9).
  function drawP95(lateness) {
    const plot = $('#chart-p95 .plot');
    const points = lateness.minutes.filter(m => m.count > 0);
    if (points.length === 0) return empty(plot, 'No notification written in the last 3 hours.');
    const { root, width, height } = frame(plot, 190);
    const left = 52, right = width - 10, top = 12, bottom = height - 26;
    const from = new Date(lateness.minutes[0].at).getTime(), to = new Date(lateness.minutes[lateness.minutes.length - 1].at).getTime() + 60000;
    const x = t => left + (right - left) * (t - from) / (to - from);
    const highest = Math.max(2, ...points.map(m => m.max));
    const lo = Math.log10(0.05), hi = Math.log10(highest * 1.5);
    const y = s => bottom - (bottom - top) * (Math.log10(Math.max(s, 0.05)) - lo) / (hi - lo);
    const ticks = [[0.1, '100 ms'], [1, '1 s'], [10, '10 s'], [60, '1 min'], [600, '10 min'], [3600, '1 h'], [21600, '6 h'], [86400, '1 d']]
      .filter(([t]) => Math.log10(t) <= hi);
    const gap = (bottom - top) / 6; // leave out ticks that would overlap
    let lastY = Infinity;
    for (const [tick, label] of ticks) {
      if (lastY - y(tick) < gap && tick !== 1) continue;
      lastY = y(tick);
      root.append(svg('line', { class: 'gridline', x1: left, x2: right, y1: y(tick), y2: y(tick) }));
      root.append(svg('text', { x: left - 6, y: y(tick) + 4, 'text-anchor': 'end', text: label }));
    }
    root.append(svg('line', { class: 'axis', x1: left, x2: right, y1: bottom, y2: bottom }));
    root.append(svg('line', { class: 'promise', x1: left, x2: right, y1: y(1), y2: y(1) }));
    timeTicks(root, from, to, x, bottom);
    const mid = m => new Date(m.at).getTime() + 30000;
    let path = '', previous = null;
    for (const m of lateness.minutes) {
      if (m.count === 0) { previous = null; continue; }
      path += `${previous ? 'L' : 'M'}${x(mid(m)).toFixed(1)},${y(m.p95).toFixed(1)}`;
      previous = m;
    }
    root.append(svg('path', { class: 'line-p95', d: path }));
    for (const m of points) {
      root.append(titled(svg('circle', { class: 'point-max', cx: x(mid(m)), cy: y(m.max), r: 3 }), `${clock(m.at)}: slowest ${seconds(m.max)}`));
      root.append(titled(svg('circle', { class: 'point-p95', cx: x(mid(m)), cy: y(m.p95), r: 3.5, 'data-minute': m.at, 'data-p95': m.p95 }),
        `${clock(m.at)}: ${count(m.count)} written, p50 ${seconds(m.p50)}, p95 ${seconds(m.p95)}, max ${seconds(m.max)}`));
    }
  }

  // Notifications written per minute.
  function drawWritten(lateness) {
    const plot = $('#chart-written .plot');
    const { root, width, height } = frame(plot, 150);
    const left = 40, right = width - 8, top = 12, bottom = height - 26;
    const n = lateness.minutes.length;
    const max = niceMax(Math.max(1, ...lateness.minutes.map(m => m.count)));
    yAxis(root, left, right, top, bottom, max);
    const from = new Date(lateness.minutes[0].at).getTime(), to = from + n * 60000;
    const x = t => left + (right - left) * (t - from) / (to - from);
    timeTicks(root, from, to, x, bottom);
    const slot = (right - left) / n;
    for (const m of lateness.minutes) {
      if (m.count === 0) continue;
      const h = Math.max(2, (bottom - top) * m.count / max);
      root.append(titled(svg('rect', {
        class: 'bar per-minute', x: x(new Date(m.at).getTime()), y: bottom - h, width: Math.max(1.5, slot * 0.8), height: h,
        'data-minute': m.at, 'data-count': m.count,
      }), `${clock(m.at)}: ${count(m.count)} written, p95 ${seconds(m.p95)}`));
    }
  }

  // The last scans, oldest on the left: what each found became (written, no longer due, skipped); failures in red.
  function drawScans(scans) {
    const plot = $('#chart-scans .plot');
    if (scans.length === 0) return empty(plot, 'No scan since the host started.');
    const ordered = [...scans].reverse();
    const { root, width, height } = frame(plot, 170);
    const left = 40, right = width - 8, top = 12, bottom = height - 26;
    const max = niceMax(Math.max(1, ...ordered.map(s => s.found)));
    yAxis(root, left, right, top, bottom, max);
    const slot = (right - left) / Math.max(ordered.length, 12);
    const w = Math.max(2, slot * 0.7);
    ordered.forEach((s, i) => {
      const x = left + i * slot + (slot - w) / 2;
      const group = svg('g', { class: 'scan', 'data-at': s.at, 'data-found': s.found, 'data-written': s.written, 'data-completed': s.completed });
      const title = s.completed
        ? `${dateTime(s.at)} (${s.trigger}): found ${s.found}, written ${s.written}, no longer due ${s.notDue}, skipped ${s.skipped}, held by another instance ${s.held || 0}, ${s.durationMs} ms`
        : `${dateTime(s.at)} (${s.trigger}): failed: ${s.error}`;
      if (!s.completed) {
        group.append(svg('rect', { class: 'bar failed', x, y: top, width: w, height: bottom - top }));
      } else {
        let base = bottom;
        for (const [part, value] of [['written', s.written], ['notdue', s.notDue], ['held', s.held || 0], ['skipped', s.skipped]]) {
          if (value <= 0) continue;
          const h = Math.max(2, (bottom - top) * value / max);
          group.append(svg('rect', { class: `bar ${part}`, x, y: base - h, width: w, height: h }));
          base -= h;
        }
        if (s.found === 0) group.append(svg('rect', { class: 'bar zero', x, y: bottom - 2, width: w, height: 2 }));
      }
      group.append(svg('rect', { class: 'hit', x: left + i * slot, y: top, width: slot, height: bottom - top }));
      root.append(titled(group, title));
    });
    root.append(svg('text', { x: left, y: bottom + 16, text: clock(ordered[0].at, true) }));
    if (ordered.length > 1) root.append(svg('text', { x: left + (ordered.length - 0.5) * slot, y: bottom + 16, 'text-anchor': 'end', text: clock(ordered[ordered.length - 1].at, true) }));
  }

  // ---- panels ----
  function setField(name, text, className) {
    const node = $(`[data-field="${name}"]`);
    node.textContent = text;
    if (className !== undefined) node.className = 'value ' + className;
  }

  // supervisord's RUNNING_STATES: a start is refused in these (already started), a stop only makes sense in them.
  const UP = ['STARTING', 'RUNNING', 'BACKOFF'];
  const DOWN = ['STOPPED', 'EXITED', 'FATAL'];
  function followState(card, state) {
    if (card.getAttribute('aria-busy') === 'true') return; // a command in flight keeps its buttons disabled
    $('[data-command="start"]', card).disabled = !DOWN.includes(state);
    $('[data-command="stop"]', card).disabled = !UP.includes(state);
    $('[data-command="restart"]', card).disabled = state === 'STOPPING';
  }

  function renderPrograms(programs) {
    // A process came or went (a node joined or left the cluster): render the page afresh.
    if (programs.length !== document.querySelectorAll('.program').length) { location.reload(); return; }
    for (const p of programs) {
      const card = $(`.program[data-program="${CSS.escape(p.name)}"]`);
      if (!card) { location.reload(); return; }
      card.dataset.state = p.state;
      $('[data-field="state"]', card).textContent = p.state;
      $('[data-field="description"]', card).textContent = p.description || '\u00a0';
      const since = $('[data-field="since"]', card);
      since.dateTime = p.since;
      since.textContent = dateTime(p.since);
      const error = $('[data-field="lastError"]', card);
      error.textContent = p.lastError || '';
      error.hidden = !p.lastError;
      const node = $('[data-field="node"]', card); // clustered: the node this process of the group runs on
      node.textContent = p.node ? `node ${p.node}${p.address ? ` (${p.address})` : ''}` : '';
      node.hidden = !p.node;
      followState(card, p.state);
    }
  }

  function renderScans(report) {
    setField('backlog', count(report.backlog), report.backlog > 0 ? 'bad' : '');
    $('[data-field="parked"]').textContent = report.parked > 0 ? `${count(report.parked)} parked (refused rows)` : 'none parked';
    const last = report.scans[0];
    if (last) {
      setField('last-scan', ago(last.at), last.completed ? '' : 'bad');
      $('[data-field="last-scan-sub"]').textContent = last.completed
        ? `${last.trigger}: found ${count(last.found)}, written ${count(last.written)}, ${last.durationMs} ms`
        : `${last.trigger}: failed: ${last.error}`;
    }
    drawScans(report.scans);
    const rows = report.scans.map(s => el('tr', {},
      el('td', { text: dateTime(s.at) }),
      el('td', { text: s.trigger }),
      el('td', { class: 'num', text: s.completed ? count(s.found) : '–' }),
      el('td', { class: 'num', text: s.completed ? count(s.written) : '–' }),
      el('td', { class: 'num', text: s.completed ? count(s.skipped) : '–' }),
      el('td', { class: 'num', text: s.completed ? count(s.notDue) : '–' }),
      el('td', { class: 'num', text: s.completed ? count(s.held || 0) : '–' }),
      el('td', { class: 'num', text: s.durationMs === null ? '–' : `${count(s.durationMs)} ms` }),
      el('td', { class: s.completed ? 'ok' : 'failed', text: s.completed ? 'completed' : `failed: ${s.error}` })));
    $('#scan-rows').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 9, class: 'empty', text: 'no scan yet' }))]));
  }

  function renderLateness(lateness) {
    const w = lateness.window;
    setField('written', count(w.count));
    const lastMinute = lateness.minutes[lateness.minutes.length - 1];
    $('[data-field="written-sub"]').textContent = `${count(lastMinute ? lastMinute.count : 0)} in the current minute`;
    setField('p95', seconds(w.p95), w.count === 0 ? '' : w.p95 <= 1 ? 'good' : 'bad');
    $('[data-field="lateness-sub"]').textContent = w.count === 0 ? 'next_action_at → notification'
      : `p50 ${seconds(w.p50)} · p99 ${seconds(w.p99)} · max ${seconds(w.max)}`;
    drawHistogram(lateness);
    // Per minute, from a little before the first write (at least the last 30 minutes): a young host's minutes are not lost in 3 empty hours.
    const first = lateness.minutes.findIndex(m => m.count > 0);
    const start = first < 0 ? 0 : Math.max(0, Math.min(first - 5, lateness.minutes.length - 30));
    const recent = { ...lateness, minutes: lateness.minutes.slice(start) };
    const span = recent.minutes.length;
    const spanText = span >= 120 ? `last ${Math.round(span / 60)} h` : `last ${span} min`;
    for (const id of ['#chart-p95', '#chart-written']) $(`${id} .span`).textContent = `, ${spanText}`;
    drawP95(recent);
    drawWritten(recent);
  }

  function renderEvents(events) {
    const recent = events.slice(-12).reverse();
    $('#event-list').replaceChildren(...(recent.length ? recent.map(e => el('li', {},
      el('time', { datetime: e.at, text: dateTime(e.at) }),
      el('span', { class: 'transition', text: `${e.program} ${e.from} → ${e.to}` }),
      el('span', { class: 'what', text: e.description }))) : [el('li', { class: 'empty', text: 'none yet' })]));
  }

  function renderLog(text) {
    const pre = $('#log-tail');
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = text.trimEnd() || '(nothing logged yet)';
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }

  function renderCluster(cluster) {
    $('#cluster-standalone').hidden = cluster.clustered;
    $('#cluster-members').hidden = !cluster.clustered;
    if (!cluster.clustered) return;
    $('#cluster-members tbody').replaceChildren(...cluster.members.map(m => el('tr', {},
      el('td', { text: m.address }), el('td', { text: (m.roles || []).join(', ') }), el('td', { text: m.status }),
      el('td', { text: m.reachable ? 'yes' : 'no' }), el('td', { text: m.version }), el('td', { text: (m.programs || []).join(', ') }))));
  }

  // ---- refresh ----
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    const parts = [
      getJson('/api/programs').then(renderPrograms),
      getJson('/api/scans?last=50').then(renderScans),
      getJson(`/api/lateness?minutes=${minutes}`).then(renderLateness),
      getJson('/api/events').then(renderEvents),
      getText('/api/logs/peek?lines=40').then(renderLog),
      getJson('/api/cluster').then(renderCluster),
    ];
    const results = await Promise.allSettled(parts);
    const failed = results.filter(r => r.status === 'rejected');
    const status = $('#refresh');
    status.classList.toggle('live', failed.length === 0);
    status.classList.toggle('stale', failed.length > 0);
    $('#updated').textContent = `updated ${clock(new Date().toISOString(), true)}`;
    const banner = $('#banner');
    banner.hidden = failed.length === 0;
    banner.textContent = failed.length ? `The host does not answer everything: ${failed[0].reason.message}` : '';
    body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
    timer = setTimeout(refresh, REFRESH_MS);
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
  let resizeTimer = null;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(refresh, 250); });

  // ---- commands: the token is asked once and kept for this tab ----
  const dialog = $('#token-dialog');
  function askToken(reason) {
    $('#token-reason').textContent = reason;
    const input = $('#token-input');
    input.value = '';
    return new Promise(resolve => {
      const done = value => {
        $('#token-form').removeEventListener('submit', submitted);
        dialog.removeEventListener('close', closed);
        resolve(value);
      };
      const submitted = event => { event.preventDefault(); done(input.value); dialog.close(); };
      const closed = () => done(null); // Cancel, or Escape
      $('#token-form').addEventListener('submit', submitted);
      dialog.addEventListener('close', closed);
      dialog.showModal();
    });
  }
  $('#token-cancel').addEventListener('click', () => dialog.close());

  function showResult(text, ok) {
    const result = $('#command-result');
    result.textContent = text;
    result.className = ok ? 'command-result' : 'command-result error';
    result.hidden = false;
  }

  async function post(path, token) {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    return fetch(path, { method: 'POST', headers, cache: 'no-store' });
  }

  async function command(card, verb) {
    const name = card.dataset.program;
    const path = `/api/programs/${encodeURIComponent(name)}/${verb}`;
    let token = sessionStorage.getItem(TOKEN_KEY);
    if (!token && body.dataset.commands === 'token') {
      token = await askToken('This host asks for its CRM_ADMIN_TOKEN before it changes anything. It is kept in this tab only.');
      if (token === null) return showResult(`${name}: ${verb} cancelled`, false);
    }
    const buttons = card.querySelectorAll('button');
    buttons.forEach(b => { b.disabled = true; });
    card.setAttribute('aria-busy', 'true');
    showResult(`${name}: ${verb}…`, true);
    try {
      let response = await post(path, token);
      if (response.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        token = await askToken('The host refused that token. Enter its CRM_ADMIN_TOKEN.');
        if (token === null) return showResult(`${name}: ${verb} cancelled`, false);
        response = await post(path, token);
      }
      const reply = await response.json().catch(() => ({}));
      if (response.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      else if (token) sessionStorage.setItem(TOKEN_KEY, token);
      if (response.ok) showResult(reply.line, reply.ok);
      else showResult(`${name}: ${reply.error || `HTTP ${response.status}`}`, false);
    } catch (error) {
      showResult(`${name}: ${error.message}`, false);
    } finally {
      card.removeAttribute('aria-busy');
      followState(card, card.dataset.state);
      refresh();
    }
  }
  $('.programs').addEventListener('click', event => {
    const button = event.target.closest('button[data-command]');
    if (button) command(button.closest('.program'), button.dataset.command);
  });

  refresh();
})();
