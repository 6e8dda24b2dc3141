// Small DOM and formatting helpers shared by every view. Text always goes in through
// textContent (host names, messages and file names come from the fleet and are untrusted).

/** Creates an element: h('td', {class: 'x', dataset: {field: 'cpu'}}, 'text', child…). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else if (key === 'text') el.textContent = value;
      else el.setAttribute(key, value === true ? '' : value);
    }
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Sets text only when it changed (no needless layout work on live updates). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text made safe for HTML, in element content and in quoted attribute values. */
export function esc(text) { return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]); }

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
}

// State words and classes. Up = the host is talking to us; everything is shown as a word as
// well as a colour.
const STATES = {
  HEALTHY: { word: 'UP', group: 'up' },
  CONNECTED: { word: 'UP', group: 'up' },
  RECOVERED: { word: 'UP', group: 'up' },  // back after DOWN: the title says RECOVERED
  SUSPECT: { word: 'SUSPECT', group: 'suspect' },
  DOWN: { word: 'DOWN', group: 'down' },
  STOPPED: { word: 'STOPPED', group: 'stopped' },
  NONE: { word: 'NO AGENT', group: 'none' },
};

/** {state, word, group} for an API state (null: a host that only posts metrics over HTTP). */
export function stateInfo(state) {
  const key = state || 'NONE';
  return { state: key, ...(STATES[key] || { word: key, group: 'none' }) };
}

/** A state badge: colour and word (`exact`: the server's own word, e.g. HEALTHY, for event history). */
export function stateBadge(state, exact = false) {
  if (exact && !state) return h('span', { class: 'muted', text: '–' });
  const info = stateInfo(state);
  return h('span', { class: `badge st-${info.group}`, title: info.state, text: exact ? info.state : info.word });
}

/** Per second between two counter readings; null when the counter went back (reboot, wrap) or no time passed. */
export function counterRate(current, previous, seconds) {
  if (previous === undefined || previous === null || current === undefined || current === null) return null;
  if (!(seconds > 0) || current < previous) return null;
  return (current - previous) / seconds;
}

export function fmtPercent(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(1)} %`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function fmtBytes(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  let unit = 0;
  let v = Math.abs(value);
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) { v /= 1024; unit++; }
  const sign = value < 0 ? '-' : '';
  return `${sign}${v >= 100 || unit === 0 ? v.toFixed(0) : v.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

export function fmtRate(value) {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${fmtBytes(value)}/s`;
}

export function fmtNumber(value, digits = 2) {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** "5 s ago", "3 min ago", "2 h ago", "4 d ago" from a date (ms) relative to now (ms). */
export function fmtAgo(ms, now = Date.now()) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtDuration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  const d = Math.floor(seconds / 86400);
  const hh = Math.floor((seconds % 86400) / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  return d > 0 ? `${d} d ${hh} h` : hh > 0 ? `${hh} h ${mm} min` : `${mm} min`;
}

export function fmtTime(ms) {
  if (!ms) return '–';
  const d = new Date(ms);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Milliseconds since the epoch from an API date (ISO 8601) or null. */
export function parseTime(text) {
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

export function hostLink(name) {
  return h('a', { href: `#/hosts/${encodeURIComponent(name)}`, text: name });
}

/** A `<table>` with a caption and header; returns {table, tbody}. */
export function table(id, caption, columns) {
  const tbody = h('tbody');
  const table = h('table', { id, class: 'data' },
    caption ? h('caption', { text: caption }) : null,
    h('thead', null, h('tr', null, ...columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null, text: c.label ?? c })))),
    tbody);
  return { table, tbody };
}

/** A row of cells from values (strings or nodes); `num` marks right-aligned columns. */
export function row(cells, nums = []) {
  return h('tr', null, ...cells.map((c, i) => h('td', { class: nums.includes(i) ? 'num' : null }, c)));
}

/** A message line for an empty or failed section. */
export function note(text, kind = 'muted') {
  return h('p', { class: kind, text });
}
