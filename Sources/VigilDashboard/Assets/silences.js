// Alerts page: silences (operators end them).

import { api, hasRole } from './api.js';
import { clear, fmtTime, h, parseTime, row, setText, table } from './dom.js';

export function mountSilences(panel, onChange) {
  const canAct = hasRole('operator');
  const list = table('alerts-silences', null, ['Matchers', 'From', 'Until', 'By', 'Comment', 'State', ...(canAct ? [''] : [])]);
  const status = h('p', { class: 'muted', role: 'status' });
  let destroyed = false;
  panel.append(h('h2', { text: 'Silences' }), status, h('div', { class: 'table-wrap' }, list.table));

  async function end(id, button) {
    button.disabled = true;
    try {
      await api(`/api/silences/${encodeURIComponent(id)}`, { method: 'DELETE' });
      await load();
      onChange();
    } catch (error) {
      setText(status, `Could not end the silence: ${error.message}`);
      button.disabled = false;
    }
  }

  async function load() {
    try {
      const answer = await api('/api/silences');
      if (destroyed) return;
      const fragment = document.createDocumentFragment();
      for (const s of answer.silences) {
        const cells = [s.matchers.join(', '), fmtTime(parseTime(s.starts_at)), fmtTime(parseTime(s.ends_at)), s.created_by, s.comment, s.active ? 'active' : 'ended or future'];
        const tr = row(cells);
        tr.dataset.silence = s.id;
        if (canAct) {
          const cell = h('td');
          if (s.active) {
            const button = h('button', { type: 'button', class: 'secondary', text: 'End now' });
            button.addEventListener('click', () => end(s.id, button));
            cell.append(button);
          }
          tr.append(cell);
        }
        fragment.append(tr);
      }
      clear(list.tbody);
      list.tbody.append(fragment);
      setText(status, answer.silences.length ? '' : 'No silences.');
    } catch (error) {
      if (!destroyed) setText(status, `Could not load silences: ${error.message}`);
    }
  }
  load();
  return { reload: load, destroy() { destroyed = true; } };
}
