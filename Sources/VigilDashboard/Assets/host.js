// One host: live charts (CPU total and per core, memory, disk I/O, network), history over a
// chosen range from the server's rollups, filesystems, interfaces, top processes, system info
// and liveness events.

import { api } from './api.js';
import { isLive, subscribe } from './live.js';
import { TimeChart } from './timechart.js';
import {
  clear, counterRate, fmtAgo, fmtBytes, fmtDuration, fmtNumber, fmtPercent, fmtRate, fmtTime, h, note, parseTime,
  row, setText, stateBadge, table,
} from './dom.js';

const RANGES = { '15m': 900e3, '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const pct = (v) => `${Math.round(v)} %`;
const rate = (v) => fmtRate(v).replace('.0 ', ' ');

export function mount(main, params) {
  const name = params.host;
  let destroyed = false;
  let range = '15m';  // a new host's few minutes fill the chart; 1h…30d show history
  let generation = 0;
  let previous = null;  // the last sample, for rates from counters
  let cores = -1;
  let procSort = 'cpu';
  let latestDoc = null;
  let pollTimer = 0;

  const badge = h('span', { id: 'host-state' }, stateBadge(null));
  const seen = h('span', { class: 'muted', id: 'host-last-seen' });
  const rangeButtons = Object.keys(RANGES).map((r) =>
    h('button', { type: 'button', dataset: { range: r }, 'aria-pressed': String(r === range), text: r }));
  const picker = h('div', { id: 'range-picker', role: 'group', 'aria-label': 'Chart range' }, ...rangeButtons);

  const figure = (id, title) => {
    const canvas = h('canvas', { id, class: 'chart' });
    return [h('figure', { class: 'chart-box' }, h('figcaption', { text: title }), canvas), canvas];
  };
  const [cpuFig, cpuCanvas] = figure('chart-cpu', 'CPU total');
  const [coresFig, coresCanvas] = figure('chart-cpu-cores', 'CPU per core');
  const [memFig, memCanvas] = figure('chart-memory', 'Memory');
  const [diskFig, diskCanvas] = figure('chart-disk-io', 'Disk I/O');
  const [netFig, netCanvas] = figure('chart-network', 'Network');

  const system = h('dl', { id: 'system-info', class: 'facts' });
  const fs = table('filesystems-table', null, ['Mount', 'Usage', { label: 'Size', num: true }, { label: 'Used', num: true }, { label: 'Free', num: true }, 'Device', 'Type']);
  const ifs = table('interfaces-table', null, ['Interface', { label: 'Receive', num: true }, { label: 'Send', num: true }, { label: 'Received', num: true }, { label: 'Sent', num: true }, { label: 'Errors in/out', num: true }, { label: 'Drops in/out', num: true }]);
  const procs = table('processes-table', null, [{ label: 'PID', num: true }, 'Name', 'User', { label: 'CPU', num: true }, { label: 'Memory', num: true }]);
  const procSelect = h('select', { id: 'processes-sort', 'aria-label': 'Top processes by' },
    h('option', { value: 'cpu', text: 'by CPU' }), h('option', { value: 'memory', text: 'by memory' }));
  const events = table('host-events', null, ['Time', 'From', 'To', 'Reason']);
  const message = h('p', { class: 'muted', role: 'status' });

  const section = (title, ...children) => h('section', { class: 'panel' }, h('h2', { text: title }), ...children);
  main.append(h('section', { id: 'host-view', dataset: { host: name }, 'aria-labelledby': 'host-title' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/fleet', text: '← Fleet' })),
    h('div', { class: 'view-head' }, h('h1', { id: 'host-title', text: name }), badge, seen),
    message,
    h('div', { class: 'controls' }, h('span', { class: 'label', text: 'History' }), picker),
    h('div', { class: 'charts' }, cpuFig, coresFig, memFig, diskFig, netFig),
    h('div', { class: 'panels' },
      section('System', system),
      section('Filesystems', h('div', { class: 'table-wrap' }, fs.table)),
      section('Network interfaces', h('div', { class: 'table-wrap' }, ifs.table)),
      h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', { text: 'Top processes' }), procSelect), h('div', { class: 'table-wrap' }, procs.table)),
      section('Liveness events', h('div', { class: 'table-wrap' }, events.table)))));

  const window0 = RANGES[range];
  const charts = {
    cpu: new TimeChart(cpuCanvas, { title: 'CPU total', series: ['total'], window: window0, max: 100, format: pct }),
    cores: new TimeChart(coresCanvas, { title: 'CPU per core', series: [], window: window0, max: 100, format: pct }),
    memory: new TimeChart(memCanvas, { title: 'Memory', series: ['memory', 'swap'], window: window0, max: 100, format: pct }),
    disk: new TimeChart(diskCanvas, { title: 'Disk I/O', series: ['read', 'write'], window: window0, format: rate, bytes: true }),
    network: new TimeChart(netCanvas, { title: 'Network', series: ['receive', 'send'], window: window0, format: rate, bytes: true }),
  };
  // Which stored series feed which chart line (GET /api/servers/{h}/metrics lists them).
  const historySeries = () => [
    [charts.cpu, 0, 'cpu.cpu_percent_total'],
    [charts.memory, 0, 'memory.memory_percent'],
    [charts.memory, 1, 'memory.swap_percent'],
    [charts.disk, 0, 'io.disk_io.read_bytes_per_sec'],
    [charts.disk, 1, 'io.disk_io.write_bytes_per_sec'],
    [charts.network, 0, 'io.network.bytes_recv_per_sec'],
    [charts.network, 1, 'io.network.bytes_sent_per_sec'],
    ...Array.from({ length: Math.max(cores, 0) }, (_, i) => [charts.cores, i, `cpu.cpu_percent_per_core[${i}]`]),
  ];

  function setCores(n) {
    if (n === cores) return;
    cores = n;
    charts.cores.setSeries(Array.from({ length: n }, (_, i) => `cpu${i}`));
  }

  /** Loads the range's history into every chart (a few requests at a time). */
  async function loadHistory() {
    const mine = ++generation;
    const to = Date.now() / 1000;
    const from = to - RANGES[range] / 1000;
    const jobs = historySeries().filter(([chart]) => chart !== charts.cores || cores > 0);
    let failed = 0;
    const worker = async () => {
      while (jobs.length && mine === generation && !destroyed) {
        const [chart, index, metric] = jobs.shift();
        try {
          const body = await api(`/api/servers/${encodeURIComponent(name)}/history?metric=${encodeURIComponent(metric)}&from=${from.toFixed(3)}&to=${to.toFixed(3)}`);
          if (mine !== generation) return;
          // Keep live points newer than the history (they arrived while it loaded).
          const s = chart.series[index];
          const points = body.points.map((p) => [p.t * 1000, p.value]);
          const newest = points.length ? points[points.length - 1][0] : 0;
          if (s) for (let i = 0; i < s.t.length; i++) if (s.t[i] > newest) points.push([s.t[i], s.v[i]]);
          chart.setPoints(index, points);
        } catch (error) {
          if (error.error !== 'unknown_metric') failed++;
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    if (failed && mine === generation) setText(message, `${failed} history series could not be loaded.`);
  }

  function onSample(receivedAt, doc) {
    const t = parseTime(doc.timestamp) || parseTime(receivedAt) || Date.now();
    const cpu = doc.cpu || {};
    const perCore = cpu.cpu_percent_per_core || [];
    if (perCore.length && perCore.length !== cores) {
      setCores(perCore.length);
      if (generation > 0) loadHistory();  // the first load has run without these series
    }
    charts.cpu.append(t, [cpu.cpu_percent_total]);
    charts.cores.append(t, perCore);
    const mem = doc.memory || {};
    charts.memory.append(t, [mem.memory_percent, mem.swap_total ? mem.swap_percent : null]);
    const prev = previous;
    const prevT = prev ? parseTime(prev.timestamp) : 0;
    const dt = prev ? (t - prevT) / 1000 : 0;
    const dio = doc.io && doc.io.disk_io;
    const pdio = prev && prev.io && prev.io.disk_io;
    if (dio) {
      charts.disk.append(t, [
        counterRate(dio.read_bytes, pdio && pdio.read_bytes, dt) ?? dio.read_bytes_per_sec,
        counterRate(dio.write_bytes, pdio && pdio.write_bytes, dt) ?? dio.write_bytes_per_sec,
      ]);
    }
    const net = doc.io && doc.io.network;
    const pnet = prev && prev.io && prev.io.network;
    if (net) {
      charts.network.append(t, [
        counterRate(net.bytes_recv, pnet && pnet.bytes_recv, dt) ?? net.bytes_recv_per_sec,
        counterRate(net.bytes_sent, pnet && pnet.bytes_sent, dt) ?? net.bytes_sent_per_sec,
      ]);
    }
    renderTables(doc, prev, dt);
    previous = doc;
    latestDoc = doc;
    lastSampleAt = parseTime(receivedAt) || t;
    setText(seen, `last sample ${fmtAgo(lastSampleAt)}`);
  }
  let lastSampleAt = 0;
  const ticker = setInterval(() => { if (lastSampleAt) setText(seen, `last sample ${fmtAgo(lastSampleAt)}`); }, 1000);

  function renderTables(doc, prev, dt) {
    const parts = (doc.disk && doc.disk.partitions) || [];
    const fsRows = parts.map((p) => {
      const bar = h('span', { class: `bar${p.percent >= 90 ? ' crit' : p.percent >= 80 ? ' warn' : ''}` }, h('span'));
      bar.firstChild.style.width = `${Math.min(100, Math.max(0, p.percent))}%`;
      return row([p.mountpoint, h('span', { class: 'usage' }, bar, fmtPercent(p.percent)),
        fmtBytes(p.total), fmtBytes(p.used), fmtBytes(p.free), p.device, p.fstype], [2, 3, 4]);
    });
    replaceRows(fs.tbody, fsRows, 7, 'No filesystems reported.');

    const interfaces = (doc.io && doc.io.network && doc.io.network.interfaces) || {};
    const pif = (prev && prev.io && prev.io.network && prev.io.network.interfaces) || {};
    const ifRows = Object.keys(interfaces).sort().map((n) => {
      const c = interfaces[n];
      const p = pif[n];
      const rx = counterRate(c.bytes_recv, p && p.bytes_recv, dt) ?? c.bytes_recv_per_sec;
      const tx = counterRate(c.bytes_sent, p && p.bytes_sent, dt) ?? c.bytes_sent_per_sec;
      return row([n, fmtRate(rx), fmtRate(tx), fmtBytes(c.bytes_recv), fmtBytes(c.bytes_sent), `${c.errin} / ${c.errout}`, `${c.dropin} / ${c.dropout}`], [1, 2, 3, 4, 5, 6]);
    });
    replaceRows(ifs.tbody, ifRows, 7, 'No interfaces reported.');
    renderProcesses(doc);
    renderSystem(doc);
  }

  function renderProcesses(doc) {
    const p = doc.processes;
    const list = p ? (procSort === 'cpu' ? p.top_cpu : p.top_memory) || [] : [];
    replaceRows(procs.tbody, list.map((x) => row([String(x.pid), x.name, x.user, fmtPercent(x.cpu_percent), fmtBytes(x.rss)], [0, 3, 4])), 5, 'No processes reported.');
    procs.table.caption?.remove();
    if (p) procs.table.prepend(h('caption', { class: 'muted', text: `${p.total} processes; top by ${procSort === 'cpu' ? 'CPU' : 'memory'}` }));
  }

  let agent = null;
  function renderSystem(doc) {
    const s = (doc && doc.system) || {};
    const cpu = (doc && doc.cpu) || {};
    const mem = (doc && doc.memory) || {};
    const facts = [
      ['OS', s.os], ['Kernel', s.kernel], ['Architecture', s.architecture], ['Kernel host name', s.hostname],
      ['Uptime', s.uptime !== undefined ? fmtDuration(s.uptime) : null],
      ['Booted', s.boot_time ? fmtTime(s.boot_time * 1000) : null],
      ['CPUs', cpu.cpu_count_logical !== undefined ? `${cpu.cpu_count_logical} logical${cpu.cpu_count_physical ? `, ${cpu.cpu_count_physical} physical` : ''}` : null],
      ['CPU frequency', cpu.cpu_freq_current ? `${Math.round(cpu.cpu_freq_current)} MHz` : null],
      ['Load average', cpu.load_average ? cpu.load_average.map((v) => fmtNumber(v)).join(' / ') : null],
      ['Memory', mem.memory_total ? `${fmtBytes(mem.memory_used)} of ${fmtBytes(mem.memory_total)}` : null],
      ['Swap', mem.swap_total ? `${fmtBytes(mem.swap_used)} of ${fmtBytes(mem.swap_total)}` : null],
      ['Agent version', agent && agent.agent_version], ['Address', agent && agent.address],
      ['Connected', agent ? (agent.connected ? 'yes' : 'no') : null],
      ['State since', agent && agent.state_since ? fmtTime(parseTime(agent.state_since)) : null],
    ].filter(([, v]) => v !== null && v !== undefined && v !== '');
    const fragment = document.createDocumentFragment();
    for (const [k, v] of facts) fragment.append(h('dt', { text: k }), h('dd', { text: v }));
    clear(system);
    system.append(fragment);
  }

  function replaceRows(tbody, rows, columns, empty) {
    const fragment = document.createDocumentFragment();
    if (rows.length) fragment.append(...rows);
    else fragment.append(h('tr', null, h('td', { colspan: String(columns), class: 'muted', text: empty })));
    clear(tbody);
    tbody.append(fragment);
  }

  function setState(state) {
    clear(badge);
    badge.append(stateBadge(state));
  }

  const eventRow = (e) => row([fmtTime(parseTime(e.at)), stateBadge(e.from, true), stateBadge(e.to, true), e.reason || '']);

  async function loadEvents() {
    try {
      const list = await api(`/api/servers/${encodeURIComponent(name)}/events?limit=50`);
      if (!destroyed) replaceRows(events.tbody, list.map(eventRow), 4, 'No events yet.');
    } catch (error) {
      if (!destroyed) replaceRows(events.tbody, [], 4, `Could not load events: ${error.message}`);
    }
  }

  let unknown = false;
  async function loadCurrent() {
    try {
      const current = await api(`/api/servers/${encodeURIComponent(name)}/current`);
      if (!destroyed && (!latestDoc || parseTime(current.metrics.timestamp) > parseTime(latestDoc.timestamp))) onSample(current.received_at, current.metrics);
    } catch (error) {
      if (destroyed) return;
      if (error.error === 'no_samples') setText(message, 'This host has sent no metrics yet.');
      else if (error.status === 404) { unknown = true; setText(message, 'No host by this name.'); }
      else setText(message, `Could not load the latest sample: ${error.message}`);
      renderSystem(latestDoc);
    }
  }

  async function loadAgent() {
    try {
      agent = await api(`/api/agents/${encodeURIComponent(name)}`);
      if (destroyed) return;
      setState(agent.state);
      renderSystem(latestDoc);
    } catch { /* a host that only posts metrics over HTTP has no agent */ }
  }

  picker.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-range]');
    if (!button || button.dataset.range === range) return;
    range = button.dataset.range;
    for (const b of rangeButtons) b.setAttribute('aria-pressed', String(b === button));
    for (const chart of Object.values(charts)) chart.setWindow(RANGES[range]);
    loadHistory();
  });
  procSelect.addEventListener('change', () => {
    procSort = procSelect.value;
    if (latestDoc) renderProcesses(latestDoc);
  });

  const unsubscribe = subscribe([`host:${name}`, 'events'], (msg) => {
    if (msg.type === 'sample' && msg.hostname === name) {
      setText(message, '');
      onSample(msg.received_at, msg.metrics);
    } else if (msg.type === 'state' && msg.hostname === name) {
      setState(msg.state);
    } else if (msg.type === 'event' && msg.event && msg.event.hostname === name) {
      setState(msg.event.to);
      const tbody = events.tbody;
      if (tbody.querySelector('td[colspan]')) clear(tbody);
      tbody.prepend(eventRow(msg.event));
    }
  });
  const poll = () => {
    pollTimer = setTimeout(async () => {
      if (!isLive()) await Promise.all([loadCurrent(), loadAgent()]);
      if (!destroyed) poll();
    }, 5000);
  };

  (async () => {
    await Promise.all([loadAgent(), loadCurrent()]);
    if (destroyed) return;
    if (unknown && !agent) {
      replaceRows(events.tbody, [], 4, 'No events.');
      poll();  // it may register later
      return;
    }
    loadEvents();
    loadHistory();
    poll();
  })();

  return () => {
    destroyed = true;
    generation++;
    clearTimeout(pollTimer);
    clearInterval(ticker);
    unsubscribe();
    for (const chart of Object.values(charts)) chart.destroy();
  };
}
