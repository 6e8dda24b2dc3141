// Fleet page: the servers sharing one database (a cluster on PostgreSQL), their load and the
// leader. Hidden for a single server. Polled: membership changes every few seconds at most.

import { api } from './api.js';
import { clear, fmtAgo, h, parseTime, setText, table } from './dom.js';

const pollInterval = 5000;

export function mountCluster(panel) {
  const list = table('cluster-members', null, ['Server', 'Role', { label: 'Agents', num: true }, { label: 'Capacity', num: true }, 'Agent address', 'Last seen']);
  const status = h('p', { class: 'muted', role: 'status' });
  panel.hidden = true;
  panel.append(h('h2', { text: 'Servers' }), status, h('div', { class: 'table-wrap' }, list.table));
  let destroyed = false;
  let timer = null;

  function render(cluster) {
    panel.hidden = !cluster.clustered;
    panel.dataset.leader = cluster.leader ? cluster.leader.member_id : '';
    const now = Date.now();
    const fragment = document.createDocumentFragment();
    for (const m of cluster.members) {
      const self = m.id === cluster.member_id;
      fragment.append(h('tr', { dataset: { member: m.id, role: m.leader ? 'leader' : 'follower' } },
        h('td', { text: self ? `${m.id} (this server)` : m.id }),
        h('td', { text: m.leader ? 'leader' : 'follower' }),
        h('td', { class: 'num', text: String(m.load) }),
        h('td', { class: 'num', text: m.capacity ? String(m.capacity) : '—' }),
        h('td', { text: m.agent_address }),
        h('td', { text: fmtAgo(parseTime(m.last_seen), now) })));
    }
    clear(list.tbody);
    list.tbody.append(fragment);
    const load = cluster.members.reduce((sum, m) => sum + m.load, 0);
    const leader = cluster.leader ? `leader ${cluster.leader.member_id} (epoch ${cluster.leader.epoch})` : 'no leader';
    setText(status, cluster.problem
      ? `This server cannot reach the database: ${cluster.problem}`
      : `${cluster.members.length} servers, ${load} agents, ${leader}`);
  }

  async function poll() {
    try {
      const cluster = await api('/api/cluster');
      if (!destroyed) render(cluster);
    } catch (error) {
      if (!destroyed && !panel.hidden) setText(status, `Could not load the cluster: ${error.message}`);
    }
    if (!destroyed) timer = setTimeout(poll, pollInterval);
  }
  poll();
  return { destroy() { destroyed = true; clearTimeout(timer); } };
}
