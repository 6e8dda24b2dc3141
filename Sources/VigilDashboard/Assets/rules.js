// Alerts page, for admins: the rules in force (API rules can be added and deleted here; the
// configuration's are changed in the alerting file) and the notification channels.

import { api } from './api.js';
import { clear, h, row, setText, table } from './dom.js';

export function mountRules(panel) {
  const list = table('alerts-rules', null, ['Name', 'Kind', 'Condition', 'For', 'Severity', 'Origin', '']);
  const channels = h('ul', { id: 'alerts-channels' });
  const status = h('p', { class: 'muted', role: 'status' });
  let destroyed = false;
  const field = (name, attrs) => h('label', null, name, ' ', h('input', { name, ...attrs }));
  const form = h('form', { id: 'alerts-rule-form', class: 'inline-form' },
    field('name', { required: true, placeholder: 'load_high', size: 12 }),
    field('series', { required: true, placeholder: 'load.1', size: 16 }),
    h('label', null, 'op ', h('select', { name: 'op' }, ...['>', '>=', '<', '<='].map((o) => h('option', { value: o, text: o })))),
    field('threshold', { required: true, type: 'number', step: 'any', size: 6 }),
    field('for', { placeholder: '5m', size: 5 }),
    h('label', null, 'severity ', h('select', { name: 'severity' }, h('option', { value: 'warning', text: 'warning' }), h('option', { value: 'critical', text: 'critical' }))),
    h('button', { type: 'submit', text: 'Add rule' }));
  panel.append(h('h2', { text: 'Rules' }), status, h('div', { class: 'table-wrap' }, list.table), form,
    h('h2', { text: 'Channels' }), channels);

  function condition(r) {
    if (r.kind !== 'threshold') return r.kind.replace('_', ' ');
    const recovery = r.recovery !== undefined && r.recovery !== r.threshold ? `, recovers ${r.op.startsWith('>') ? '<' : '>'} ${r.recovery}` : '';
    return `${r.aggregate}(${r.series}, ${r.window}) ${r.op} ${r.threshold}${recovery}`;
  }

  async function remove(name, button) {
    button.disabled = true;
    try {
      await api(`/api/rules/${encodeURIComponent(name)}`, { method: 'DELETE' });
      await load();
    } catch (error) {
      setText(status, `Could not delete ${name}: ${error.message}`);
      button.disabled = false;
    }
  }

  async function load() {
    try {
      const [answer, config] = await Promise.all([api('/api/rules'), api('/api/channels')]);
      if (destroyed) return;
      const fragment = document.createDocumentFragment();
      for (const r of answer.rules) {
        const tr = row([r.name, r.kind, condition(r), r.for, r.severity, r.origin + (r.enabled ? '' : ' (off)')]);
        tr.dataset.rule = r.name;
        const cell = h('td');
        if (r.origin === 'api') {
          const button = h('button', { type: 'button', class: 'secondary', text: 'Delete' });
          button.addEventListener('click', () => remove(r.name, button));
          cell.append(button);
        }
        tr.append(cell);
        fragment.append(tr);
      }
      clear(list.tbody);
      list.tbody.append(fragment);
      clear(channels);
      for (const c of config.channels) channels.append(h('li', { dataset: { channel: c.name }, text: `${c.name} (${c.kind})` }));
      if (!config.channels.length) channels.append(h('li', { class: 'muted', text: 'No channels: alerts show here only (set alerting.file).' }));
      setText(status, '');
    } catch (error) {
      if (!destroyed) setText(status, `Could not load rules: ${error.message}`);
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const rule = { name: data.get('name'), series: data.get('series'), op: data.get('op'), threshold: Number(data.get('threshold')), severity: data.get('severity') };
    if (data.get('for')) rule.for = data.get('for');
    try {
      await api('/api/rules', { method: 'POST', body: rule });
      form.reset();
      await load();
    } catch (error) {
      setText(status, `Rule refused: ${error.message}`);
    }
  });
  load();
  return { reload: load, destroy() { destroyed = true; } };
}
