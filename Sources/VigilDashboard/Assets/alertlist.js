// Alerts page, first panel: firing and pending alerts, live (the `alerts` topic), with
// acknowledge and silence controls for operators.

import { api, hasRole } from './api.js';
import { subscribe } from './live.js';
import { clear, fmtAgo, fmtNumber, fmtTime, h, hostLink, parseTime, setText, table } from './dom.js';

export function mountActive(panel, onSilenced) {
  const canAct = hasRole('operator');
  const list = table('alerts-active', null, ['Status', 'Severity', 'Rule', 'Host', { label: 'Value', num: true }, 'Since', 'Summary', ...(canAct ? ['Actions'] : [])]);
  const count = h('span', { id: 'alerts-active-count', text: '0' });
  const status = h('p', { class: 'muted', role: 'status' });
  const alerts = new Map();  // fingerprint → alert
  let destroyed = false;

  panel.append(h('h2', null, 'Firing and pending (', count, ')'), status, h('div', { class: 'table-wrap' }, list.table));

  async function act(path, body, button) {
    button.disabled = true;
    try {
      await api(path, { method: 'POST', body });
      if (path === '/api/silences') { await load(); onSilenced(); }
    } catch (error) {
      setText(status, `Could not ${path.endsWith('/ack') ? 'acknowledge' : 'silence'}: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  function actions(a) {
    if (!canAct) return null;
    const cell = h('td', { class: 'actions' });
    if (a.status === 'firing' && !a.acknowledged_by) {
      const ack = h('button', { type: 'button', class: 'secondary ack', text: 'Acknowledge', title: 'Stop repeats until it resolves' });
      ack.addEventListener('click', () => act(`/api/alerts/${a.id}/ack`, { comment: 'acknowledged from the dashboard' }, ack));
      cell.append(ack, ' ');
    }
    if (!a.silenced) {
      const silence = h('button', { type: 'button', class: 'secondary silence', text: 'Silence 1 h', title: `Silence ${a.rule} on ${a.hostname} for an hour` });
      silence.addEventListener('click', () => act('/api/silences', {
        matchers: [`alertname=${a.rule}`, `host=${a.hostname}`], duration: '1h', comment: 'silenced from the dashboard',
      }, silence));
      cell.append(silence);
    }
    return cell;
  }

  function statusCell(a) {
    const word = a.status === 'firing' ? (a.acknowledged_by ? 'ACKED' : 'FIRING') : 'PENDING';
    const group = a.status === 'firing' ? (a.acknowledged_by ? 'suspect' : 'down') : 'stopped';
    const extra = [a.silenced ? 'silenced' : null, a.suppressed ? 'host DOWN: not notified' : null, a.acknowledged_by ? `acknowledged by ${a.acknowledged_by}` : null].filter(Boolean);
    return h('td', null, h('span', { class: `badge st-${group}`, text: word, title: extra.join('; ') || a.status }),
      extra.length ? h('span', { class: 'muted', text: ` ${extra.join(', ')}` }) : null);
  }

  function render() {
    const sorted = [...alerts.values()].sort((x, y) =>
      (x.status === 'firing' ? 0 : 1) - (y.status === 'firing' ? 0 : 1) || (x.severity === 'critical' ? 0 : 1) - (y.severity === 'critical' ? 0 : 1) || x.id - y.id);
    const fragment = document.createDocumentFragment();
    for (const a of sorted) {
      const since = parseTime(a.fired_at || a.started_at);
      const processes = (a.top_processes || []).map((p) => `${p.name} (${p.pid})`).join(', ');
      fragment.append(h('tr', {
        dataset: { fingerprint: a.fingerprint, rule: a.rule, host: a.hostname, status: a.status, acknowledged: a.acknowledged_by || '' },
      },
      statusCell(a),
      h('td', { text: a.severity }),
      h('td', { text: a.series ? `${a.rule} · ${a.key || a.series}` : a.rule }),
      h('td', null, hostLink(a.hostname)),
      h('td', { class: 'num', text: a.value === undefined || a.value === null ? '–' : fmtNumber(a.value) }),
      h('td', { title: since ? fmtTime(since) : '', text: since ? fmtAgo(since) : '–' }),
      h('td', null, a.summary, processes ? h('div', { class: 'muted', text: `top: ${processes}` }) : null),
      actions(a)));
    }
    clear(list.tbody);
    list.tbody.append(fragment);
    count.textContent = String(alerts.size);
    setText(status, alerts.size ? '' : 'Nothing is firing.');
  }

  async function load() {
    try {
      const answer = await api('/api/alerts');
      if (destroyed) return;
      alerts.clear();
      for (const a of answer.alerts) alerts.set(a.fingerprint, a);
      render();
    } catch (error) {
      if (!destroyed) setText(status, `Could not load alerts: ${error.message}`);
    }
  }

  const unsubscribe = subscribe(['alerts'], (msg) => {
    if (msg.type !== 'alert' || !msg.alert) return;
    const a = msg.alert;
    if (a.status === 'resolved') alerts.delete(a.fingerprint);
    else alerts.set(a.fingerprint, { ...alerts.get(a.fingerprint), ...a, silenced: alerts.get(a.fingerprint)?.silenced ?? false });
    render();
  });
  load();
  return { reload: load, destroy() { destroyed = true; unsubscribe(); } };
}
