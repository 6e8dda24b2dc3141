// Alerts: firing and pending alerts, silences and the delivery log (live), rules and channels
// for admins; then the hosts that are DOWN now and the history of liveness events (live).

import { api, hasRole } from './api.js';
import { mountActive } from './alertlist.js';
import { mountDeliveries } from './deliveries.js';
import { mountRules } from './rules.js';
import { mountSilences } from './silences.js';
import { isLive, subscribe } from './live.js';
import { clear, fmtAgo, fmtTime, h, hostLink, note, parseTime, row, stateBadge, table } from './dom.js';

export function mount(main) {
  let destroyed = false;
  let oldest = null;
  let pollTimer = 0;
  const down = new Map();  // hostname → since (ms)
  const downList = h('ul', { id: 'alerts-down', class: 'down-list', 'aria-live': 'polite' });
  const downCount = h('span', { id: 'alerts-down-count', text: '0' });
  const events = table('alerts-events', null, ['Time', 'Host', 'From', 'To', 'Reason']);
  const more = h('button', { type: 'button', class: 'secondary', text: 'Older events', hidden: true });
  const status = h('p', { class: 'muted', role: 'status' });

  const activePanel = h('section', { class: 'panel' });
  const silencePanel = h('section', { class: 'panel' });
  const deliveryPanel = h('section', { class: 'panel' });
  const rulePanel = hasRole('admin') ? h('section', { class: 'panel' }) : null;
  main.append(h('section', { id: 'alerts-view', 'aria-labelledby': 'alerts-title' },
    h('div', { class: 'view-head' }, h('h1', { id: 'alerts-title', text: 'Alerts' })),
    activePanel, silencePanel, deliveryPanel, rulePanel,
    h('section', { class: 'panel' }, h('h2', null, 'Down now (', downCount, ')'), downList),
    h('section', { class: 'panel' }, h('h2', { text: 'Event history' }), status,
      h('div', { class: 'table-wrap' }, events.table), more)));

  function renderDown() {
    const fragment = document.createDocumentFragment();
    const names = [...down.keys()].sort();
    for (const name of names) {
      const since = down.get(name);
      fragment.append(h('li', { dataset: { host: name } }, stateBadge('DOWN'), ' ', hostLink(name),
        h('span', { class: 'muted', title: since ? fmtTime(since) : '' }, since ? ` since ${fmtAgo(since)}` : '')));
    }
    if (!names.length) fragment.append(h('li', { class: 'muted', text: 'No host is down.' }));
    clear(downList);
    downList.append(fragment);
    downCount.textContent = String(names.length);
  }

  const eventRow = (e) => row([fmtTime(parseTime(e.at)), hostLink(e.hostname), stateBadge(e.from, true), stateBadge(e.to, true), e.reason || '']);

  async function loadDown() {
    try {
      const agents = await api('/api/agents');
      if (destroyed) return;
      down.clear();
      for (const a of agents) if (a.state === 'DOWN') down.set(a.hostname, parseTime(a.state_since));
      renderDown();
    } catch (error) {
      if (!destroyed) { clear(downList); downList.append(h('li', { class: 'error', text: `Could not load: ${error.message}` })); }
    }
  }

  async function loadEvents(before) {
    try {
      const list = await api(`/api/events?limit=100${before ? `&before=${before}` : ''}`);
      if (destroyed) return;
      if (!before) clear(events.tbody);
      const fragment = document.createDocumentFragment();
      for (const e of list) fragment.append(eventRow(e));
      events.tbody.append(fragment);
      oldest = list.length ? list[list.length - 1].id : oldest;
      more.hidden = list.length < 100;
      status.textContent = events.tbody.rows.length ? '' : 'No events yet.';
    } catch (error) {
      if (!destroyed) status.textContent = `Could not load events: ${error.message}`;
    }
  }

  function onState(hostname, state, at) {
    if (state === 'DOWN') down.set(hostname, at || Date.now());
    else if (!down.delete(hostname)) return;
    renderDown();
  }

  more.addEventListener('click', () => { if (oldest) loadEvents(oldest); });
  const unsubscribe = subscribe(['events'], (msg) => {
    if (msg.type === 'event' && msg.event) {
      events.tbody.prepend(eventRow(msg.event));
      status.textContent = '';
      onState(msg.event.hostname, msg.event.to, parseTime(msg.event.at));
    } else if (msg.type === 'state') {
      onState(msg.hostname, msg.state, parseTime(msg.at));
    }
  });
  let silences = null;
  const active = mountActive(activePanel, () => silences?.reload());
  silences = mountSilences(silencePanel, () => active.reload());
  const deliveries = mountDeliveries(deliveryPanel);
  const rules = rulePanel ? mountRules(rulePanel) : null;
  const poll = () => {
    pollTimer = setTimeout(async () => {
      if (!isLive()) await Promise.all([loadDown(), loadEvents(), active.reload(), deliveries.reload()]);
      if (!destroyed) poll();
    }, 5000);
  };
  loadDown();
  loadEvents();
  poll();
  return () => {
    destroyed = true;
    clearTimeout(pollTimer);
    unsubscribe();
    for (const panel of [active, silences, deliveries, rules]) panel?.destroy();
  };
}
