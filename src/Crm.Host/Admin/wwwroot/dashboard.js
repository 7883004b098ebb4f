// CrmActors dashboard (SPEC §10): refreshes the server-rendered page from the admin API (docs/admin-api.md) and
// sends the buttons' commands there. No library, nothing loaded from outside the listener. A program's panel is a
// script of its own (/panels/NAME.js) that draws with the helpers below (window.CrmDashboard).
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
  // Every request says it comes from this page (the host takes its session cookie for a command only then) and
  // carries the token once one was asked. A read refused with 401 (a session that ended, beyond loopback) asks for
  // the token once for all the reads in flight; declined, the page stops asking until it is reloaded.
  function headers() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    return token ? { 'X-Crm-Dashboard': '1', Authorization: `Bearer ${token}` } : { 'X-Crm-Dashboard': '1' };
  }
  let readToken = null; // the pending question, shared by the reads that met a 401
  let readsDeclined = false;
  async function read(path) {
    let response = await fetch(path, { cache: 'no-store', headers: headers() });
    if (response.status === 401 && !readsDeclined && !dialog.open) { // a command's question already open: this read waits for the next refresh
      sessionStorage.removeItem(TOKEN_KEY);
      readToken = readToken || askToken('This host asks for its CRM_ADMIN_TOKEN before it shows anything. It is kept in this tab only.')
        .then(token => { if (token) sessionStorage.setItem(TOKEN_KEY, token); else readsDeclined = true; return token; })
        .finally(() => { readToken = null; });
      if (await readToken) response = await fetch(path, { cache: 'no-store', headers: headers() });
    }
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response;
  }
  async function getJson(path) { return (await read(path)).json(); }
  async function getText(path) { return (await read(path)).text(); }

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

  // ---- the programs' panels: each script registers a refresh that returns its requests (promises) ----
  const panels = [];
  window.CrmDashboard = {
    $, el, svg, titled, frame, empty, niceMax, yAxis, timeTicks, seconds, clock, dateTime, ago, count, bucketLabel, getJson, getText,
    setField, minutes, addPanel: refreshPanel => panels.push(refreshPanel),
  };

  // ---- refresh ----
  let timer = null;
  async function refresh() {
    clearTimeout(timer);
    const parts = [
      getJson('/api/programs').then(renderPrograms),
      ...panels.flatMap(panel => panel()),
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
    const headers = token ? { 'X-Crm-Dashboard': '1', Authorization: `Bearer ${token}` } : { 'X-Crm-Dashboard': '1' };
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

  // After the programs' panel scripts (deferred, so run after this one and before DOMContentLoaded) have registered.
  document.addEventListener('DOMContentLoaded', refresh);
})();
