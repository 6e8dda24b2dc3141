// Fleet overview: every host with state (colour and word), CPU, memory, disk, load, last seen;
// counts per state; sort by any column; filter by text and state. Built for thousands of hosts:
// rows are cloned from one template into one DocumentFragment, live `fleet` messages update only
// the cells that changed, and sorting moves the existing rows.

import { api } from './api.js';
import { mountCluster } from './cluster.js';
import { isLive, subscribe } from './live.js';
import { esc, fmtAgo, fmtNumber, fmtPercent, h, parseTime, setText, stateInfo } from './dom.js';

const COLUMNS = [
  { key: 'hostname', label: 'Host' },
  { key: 'state', label: 'State' },
  { key: 'cpu', label: 'CPU', num: true },
  { key: 'memory', label: 'Memory', num: true },
  { key: 'disk', label: 'Disk', num: true },
  { key: 'load', label: 'Load', num: true },
  { key: 'last_seen', label: 'Last seen' },
];
// Worst first when sorting by state.
const SEVERITY = { down: 0, suspect: 1, none: 2, stopped: 3, up: 4 };
const GROUPS = [['up', 'Up'], ['down', 'Down'], ['suspect', 'Suspect'], ['stopped', 'Stopped'], ['none', 'No agent']];
const collator = new Intl.Collator(undefined, { numeric: true });

function sortValue(entry, key) {
  const d = entry.data;
  switch (key) {
    case 'hostname': return d.hostname;
    case 'state': return SEVERITY[entry.group] ?? 9;
    case 'cpu': return d.cpu_percent ?? -1;
    case 'memory': return d.memory_percent ?? -1;
    case 'disk': return d.disk ? d.disk.fullest_percent ?? d.disk.percent : -1;
    case 'load': return d.load_1 ?? -1;
    case 'last_seen': return entry.lastSeen || 0;
    default: return 0;
  }
}

function pctClass(v) { return v === null || v === undefined ? 'num' : v >= 90 ? 'num crit' : v >= 80 ? 'num warn' : 'num'; }

export function mount(main) {
  delete document.body.dataset.fleetRendered;
  const hosts = new Map();  // hostname → entry {data, row, cells, group, lastSeen}
  let sortKey = 'hostname';
  let sortDir = 1;
  let filterText = '';
  let filterGroup = '';
  let pollTimer = 0;
  let destroyed = false;
  let rendered = false;

  const counts = {};
  const countList = h('ul', { class: 'counts', 'aria-label': 'Hosts by state' },
    ...GROUPS.map(([group, label]) => {
      counts[group] = h('span', { id: `count-${group === 'none' ? 'other' : group}`, class: 'count', text: '0' });
      return h('li', { class: `st-${group}` }, counts[group], ` ${label}`);
    }));
  counts.total = h('span', { id: 'count-total', text: '0' });

  const filter = h('input', { id: 'fleet-filter', type: 'search', placeholder: 'Filter hosts', autocomplete: 'off', spellcheck: 'false' });
  const stateFilter = h('select', { id: 'fleet-state-filter' },
    h('option', { value: '', text: 'All states' }),
    ...GROUPS.map(([group, label]) => h('option', { value: group, text: label })));
  const shown = h('p', { class: 'muted', id: 'fleet-shown', 'aria-live': 'polite' });

  const headers = COLUMNS.map((c) => {
    const button = h('button', { type: 'button', class: 'sort', dataset: { key: c.key }, text: c.label });
    return h('th', { scope: 'col', role: 'columnheader', class: c.num ? 'num' : null, dataset: { key: c.key } }, button);
  });
  // Explicit roles: the rows are laid out as grids (app.css), which must not cost the table semantics.
  const tbody = h('tbody', { role: 'rowgroup' });
  const tableEl = h('table', { id: 'fleet-table', class: 'data fleet', role: 'table', 'aria-label': 'Hosts (column headers sort)' },
    h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, ...headers)), tbody);

  // One row, cloned per host: cells looked up once by position.
  const template = h('tr', { role: 'row' },
    h('th', { scope: 'row', role: 'rowheader', class: 'host' }, h('a')),
    h('td', { role: 'cell', dataset: { field: 'state' } }),
    h('td', { role: 'cell', class: 'num', dataset: { field: 'cpu' } }),
    h('td', { role: 'cell', class: 'num', dataset: { field: 'memory' } }),
    h('td', { role: 'cell', class: 'num', dataset: { field: 'disk' } }),
    h('td', { role: 'cell', class: 'num', dataset: { field: 'load' } }),
    h('td', { role: 'cell', dataset: { field: 'last_seen' } }));

  main.append(h('section', { id: 'fleet-view', 'aria-labelledby': 'fleet-title' },
    h('div', { class: 'view-head' }, h('h1', { id: 'fleet-title', text: 'Fleet' }), h('p', { class: 'muted' }, counts.total, ' hosts')),
    countList,
    h('div', { class: 'controls' },
      h('label', { for: 'fleet-filter', text: 'Filter' }), filter,
      h('label', { for: 'fleet-state-filter', text: 'State' }), stateFilter, shown),
    h('div', { class: 'table-wrap' }, tableEl)));
  const clusterPanel = h('section', { id: 'cluster-view', 'aria-label': 'Servers' });
  main.append(clusterPanel);
  const cluster = mountCluster(clusterPanel);

  // The first list in one piece of HTML, parsed once: several times faster than building
  // thousands of rows node by node. Every value is escaped.
  function firstRender(list) {
    const entries = list.map((data) => ({ data, group: stateInfo(data.state).group, lastSeen: parseTime(data.last_seen) }));
    entries.sort(compareEntries);
    const now = Date.now();
    const html = [];
    for (const { data, group, lastSeen } of entries) {
      const info = stateInfo(data.state);
      const disk = data.disk ? (data.disk.fullest_percent ?? data.disk.percent) : null;
      const seen = esc(data.last_seen || '');
      const entry = { data, group };
      const hidden = matches(entry) ? '' : ' hidden';
      html.push(`<tr role="row" data-host="${esc(data.hostname)}" data-state="${group}" data-liveness="${esc(info.state)}"${hidden}>`,
        `<th role="rowheader" scope="row" class="host"><a href="#/hosts/${esc(encodeURIComponent(data.hostname))}">${esc(data.hostname)}</a></th>`,
        `<td role="cell" data-field="state" class="state st-${group}" title="${esc(info.state)}">${esc(info.word)}</td>`,
        `<td role="cell" data-field="cpu" class="${pctClass(data.cpu_percent)}">${fmtPercent(data.cpu_percent)}</td>`,
        `<td role="cell" data-field="memory" class="${pctClass(data.memory_percent)}">${fmtPercent(data.memory_percent)}</td>`,
        `<td role="cell" data-field="disk" class="${pctClass(disk)}"${data.disk && data.disk.fullest_mountpoint ? ` title="fullest: ${esc(data.disk.fullest_mountpoint)}"` : ''}>${fmtPercent(disk)}</td>`,
        `<td role="cell" data-field="load" class="num">${fmtNumber(data.load_1)}</td>`,
        `<td role="cell" data-field="last_seen" data-value="${seen}" title="${seen}">${fmtAgo(lastSeen, now)}</td></tr>`);
    }
    tbody.innerHTML = html.join('');
    const rows = tbody.rows;
    entries.forEach((e, i) => {
      const row = rows[i];
      const c = row.children;
      hosts.set(e.data.hostname, { data: e.data, row, link: c[0].firstChild, state: c[1], cpu: c[2], memory: c[3], disk: c[4], load: c[5], seen: c[6], group: e.group, lastSeen: e.lastSeen });
    });
    markSorted();
    refreshCounts();
    markRendered();
  }

  function createEntry(data) {
    const row = template.cloneNode(true);
    const c = row.children;
    const entry = { data: null, row, link: c[0].firstChild, state: c[1], cpu: c[2], memory: c[3], disk: c[4], load: c[5], seen: c[6], group: '', lastSeen: 0 };
    row.dataset.host = data.hostname;
    entry.link.href = `#/hosts/${encodeURIComponent(data.hostname)}`;
    entry.link.textContent = data.hostname;
    hosts.set(data.hostname, entry);
    update(entry, data);
    return entry;
  }

  function update(entry, data) {
    entry.data = data;
    const info = stateInfo(data.state);
    entry.group = info.group;
    if (entry.row.dataset.liveness !== info.state) {
      entry.row.dataset.state = info.group;  // up, down, suspect, stopped, none
      entry.row.dataset.liveness = info.state;  // the server's own word: HEALTHY, RECOVERED…
      entry.state.className = `state st-${info.group}`;
      entry.state.textContent = info.word;
      entry.state.title = info.state;
    }
    setText(entry.cpu, fmtPercent(data.cpu_percent));
    setClass(entry.cpu, pctClass(data.cpu_percent));
    setText(entry.memory, fmtPercent(data.memory_percent));
    setClass(entry.memory, pctClass(data.memory_percent));
    const disk = data.disk ? (data.disk.fullest_percent ?? data.disk.percent) : null;
    setText(entry.disk, fmtPercent(disk));
    setClass(entry.disk, pctClass(disk));
    if (data.disk && data.disk.fullest_mountpoint) entry.disk.title = `fullest: ${data.disk.fullest_mountpoint}`;
    setText(entry.load, fmtNumber(data.load_1));
    entry.lastSeen = parseTime(data.last_seen);
    setText(entry.seen, fmtAgo(entry.lastSeen));
    if (entry.seen.dataset.value !== (data.last_seen || '')) {
      entry.seen.dataset.value = data.last_seen || '';
      entry.seen.title = data.last_seen || '';
    }
    const hidden = !matches(entry);
    if (entry.row.hidden !== hidden) entry.row.hidden = hidden;
  }

  // Only real changes touch the DOM (a live update of 2,000 rows must stay cheap).
  function setClass(el, name) { if (el.className !== name) el.className = name; }

  function matches(entry) {
    if (filterGroup && entry.group !== filterGroup) return false;
    return !filterText || entry.data.hostname.toLowerCase().includes(filterText);
  }

  function refreshCounts() {
    const n = { up: 0, down: 0, suspect: 0, stopped: 0, none: 0 };
    let visible = 0;
    for (const entry of hosts.values()) {
      n[entry.group] = (n[entry.group] || 0) + 1;
      if (!entry.row.hidden) visible++;
    }
    for (const [group] of GROUPS) setText(counts[group], String(n[group] || 0));
    setText(counts.total, String(hosts.size));
    setText(shown, visible === hosts.size ? `${hosts.size} hosts` : `Showing ${visible} of ${hosts.size} hosts`);
  }

  function compareEntries(a, b) {
    const va = sortValue(a, sortKey);
    const vb = sortValue(b, sortKey);
    const c = typeof va === 'string' ? collator.compare(va, vb) : va - vb;
    return c * sortDir || collator.compare(a.data.hostname, b.data.hostname);
  }

  function sortRows() {
    const entries = [...hosts.values()];
    entries.sort(compareEntries);
    const fragment = document.createDocumentFragment();
    for (const entry of entries) fragment.append(entry.row);
    tbody.append(fragment);
    markSorted();
  }

  function markSorted() {
    for (const th of headers) {
      if (th.dataset.key === sortKey) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  /** Applies host summaries (all hosts or only those that changed). */
  function apply(list) {
    if (hosts.size === 0 && list.length) { firstRender(list); return; }
    let added = false;
    let moved = false;
    for (const data of list) {
      const entry = hosts.get(data.hostname);
      if (entry) {
        const group = entry.group;
        update(entry, data);
        moved ||= entry.group !== group;
      } else {
        createEntry(data);
        added = true;
      }
    }
    // Rows keep their place while figures change (no jumping under the reader), except that a new
    // host is sorted in and, sorted by state, a host that changes state moves to its group.
    if (added || (moved && sortKey === 'state')) sortRows();
    refreshCounts();
    markRendered();
  }

  // The first full list (from the API or the stream, whichever came first) is in the document:
  // mark it once the frame that shows it has been laid out and painted (a task after that frame).
  function markRendered() {
    if (rendered) return;
    rendered = true;
    requestAnimationFrame(() => setTimeout(() => { if (!destroyed) document.body.dataset.fleetRendered = String(hosts.size); }, 0));
  }

  function setState(hostname, state, connected) {
    const entry = hosts.get(hostname);
    if (!entry || entry.data.state === state) return;
    update(entry, { ...entry.data, state, connected: connected ?? entry.data.connected });
    if (sortKey === 'state') sortRows();
    refreshCounts();
  }

  async function load() {
    try {
      const list = await api('/api/servers');
      if (destroyed) return;
      apply(list);
    } catch (error) {
      if (!destroyed) setText(shown, `Could not load hosts: ${error.message}`);
    }
  }

  // Without the stream (server restarting, or not there yet) poll, so the page stays current.
  function poll() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(async () => {
      if (!isLive()) await load();
      if (!destroyed) poll();
    }, 5000);
  }

  let filterDelay = 0;
  const onFilter = () => {
    clearTimeout(filterDelay);
    filterDelay = setTimeout(() => {
      const text = filter.value.trim().toLowerCase();
      if (text === filterText) return;
      filterText = text;
      for (const entry of hosts.values()) entry.row.hidden = !matches(entry);
      refreshCounts();
    }, hosts.size > 500 ? 120 : 0);
  };
  // input while typing; change and search for a cleared field (the × button, a script's clear()).
  for (const type of ['input', 'change', 'search']) filter.addEventListener(type, onFilter);
  stateFilter.addEventListener('change', () => {
    filterGroup = stateFilter.value;
    for (const entry of hosts.values()) entry.row.hidden = !matches(entry);
    refreshCounts();
  });
  tableEl.tHead.addEventListener('click', (event) => {
    const button = event.target.closest('button.sort');
    if (!button) return;
    const key = button.dataset.key;
    sortDir = key === sortKey ? -sortDir : 1;
    sortKey = key;
    sortRows();
  });

  const ticker = setInterval(() => {
    const now = Date.now();
    for (const entry of hosts.values()) setText(entry.seen, fmtAgo(entry.lastSeen, now));
  }, 5000);
  const unsubscribe = subscribe(['fleet', 'events'], (message) => {
    if (message.type === 'fleet') apply(message.hosts || []);
    else if (message.type === 'state') setState(message.hostname, message.state, message.connected);
    else if (message.type === 'event' && message.event) setState(message.event.hostname, message.event.to);
  });
  load();
  poll();

  return () => {
    destroyed = true;
    clearTimeout(pollTimer);
    clearInterval(ticker);
    unsubscribe();
    cluster.destroy();
  };
}
