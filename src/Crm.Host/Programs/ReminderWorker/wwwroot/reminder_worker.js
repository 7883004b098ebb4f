// reminder_worker's panel on the dashboard: the cards at a glance (backlog, written, lateness, last scan), how late
// reminders are written, and the last scans. Drawn with the page's helpers (dashboard.js, window.CrmDashboard).
'use strict';
(() => {
  const { $, el, svg, titled, frame, empty, niceMax, yAxis, timeTicks, seconds, clock, dateTime, ago, count, bucketLabel, getJson, setField, minutes } =
    window.CrmDashboard;

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

  window.CrmDashboard.addPanel(() => [
    getJson('/api/scans?last=50').then(renderScans),
    getJson(`/api/lateness?minutes=${minutes}`).then(renderLateness),
  ]);
})();
