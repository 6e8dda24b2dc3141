// Alerts page: the delivery log (live: the `alerts` topic carries each notification's state).

import { api } from './api.js';
import { subscribe } from './live.js';
import { clear, fmtTime, h, parseTime, setText, table } from './dom.js';

export function mountDeliveries(panel) {
  const list = table('alerts-deliveries', null, ['Made', 'Channel', 'What', 'State', { label: 'Attempts', num: true }, 'Last error']);
  const status = h('p', { class: 'muted', role: 'status' });
  const entries = new Map();  // id → entry, newest first when rendered
  let destroyed = false;
  panel.append(h('h2', { text: 'Delivery log' }), status, h('div', { class: 'table-wrap' }, list.table));

  function render() {
    const sorted = [...entries.values()].sort((a, b) => (parseTime(b.created_at) || 0) - (parseTime(a.created_at) || 0)).slice(0, 100);
    const fragment = document.createDocumentFragment();
    for (const e of sorted) {
      const state = e.state === 'retrying' && e.next_attempt_at ? `retrying at ${fmtTime(parseTime(e.next_attempt_at))}` : e.state;
      fragment.append(h('tr', { dataset: { notification: e.id, state: e.state, channel: e.channel } },
        h('td', { text: fmtTime(parseTime(e.created_at)) }), h('td', { text: e.channel }), h('td', { text: e.title }),
        h('td', { class: e.state === 'dead' ? 'error' : null, text: state }), h('td', { class: 'num', text: String(e.attempts) }),
        h('td', { class: 'muted', text: e.last_error || '' })));
    }
    clear(list.tbody);
    list.tbody.append(fragment);
    setText(status, entries.size ? '' : 'No notifications yet.');
  }

  async function load() {
    try {
      const answer = await api('/api/notifications?limit=100');
      if (destroyed) return;
      for (const e of answer.notifications) entries.set(e.id, e);
      render();
    } catch (error) {
      if (!destroyed) setText(status, `Could not load the delivery log: ${error.message}`);
    }
  }
  const unsubscribe = subscribe(['alerts'], (msg) => {
    if (msg.type !== 'notification' || !msg.notification) return;
    entries.set(msg.notification.id, msg.notification);
    render();
  });
  load();
  return { reload: load, destroy() { destroyed = true; unsubscribe(); } };
}
