// Files received by the server: list and download (the download needs the bearer token, so it
// is fetched and handed to the browser as a blob).

import { api } from './api.js';
import { clear, fmtBytes, fmtTime, h, parseTime, row, table } from './dom.js';

export function mount(main) {
  let destroyed = false;
  let next = null;
  const files = table('files-table', null, ['Name', { label: 'Size', num: true }, 'From', 'To', 'Received', 'SHA-256', '']);
  const status = h('p', { class: 'muted', role: 'status' });
  const more = h('button', { type: 'button', class: 'secondary', text: 'Older files', hidden: true });
  main.append(h('section', { id: 'files-view', 'aria-labelledby': 'files-title' },
    h('div', { class: 'view-head' }, h('h1', { id: 'files-title', text: 'Files' })),
    status, h('div', { class: 'table-wrap' }, files.table), more));

  async function download(file, button) {
    button.disabled = true;
    status.textContent = `Downloading ${file.filename}…`;
    try {
      const response = await api(`/api/files/${encodeURIComponent(file.id)}`, { raw: true });
      const url = URL.createObjectURL(await response.blob());
      const a = h('a', { href: url, download: file.filename, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = `Downloaded ${file.filename}.`;
    } catch (error) {
      status.textContent = `Could not download ${file.filename}: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  async function load(before) {
    try {
      const page = await api(`/api/files?limit=100${before ? `&before=${encodeURIComponent(before)}` : ''}`);
      if (destroyed) return;
      if (!before) clear(files.tbody);
      const fragment = document.createDocumentFragment();
      for (const f of page.files) {
        const button = h('button', { type: 'button', class: 'secondary', text: 'Download', 'aria-label': `Download ${f.filename}` });
        button.addEventListener('click', () => download(f, button));
        fragment.append(row([f.filename, fmtBytes(f.size), f.sender, f.recipient || '–', fmtTime(parseTime(f.created_at)),
          h('code', { title: f.sha256, text: f.sha256.slice(0, 12) }), button], [1]));
      }
      files.tbody.append(fragment);
      next = page.next_before;
      more.hidden = !next;
      if (!files.tbody.rows.length) status.textContent = 'No files yet.';
    } catch (error) {
      if (!destroyed) status.textContent = `Could not load files: ${error.message}`;
    }
  }

  more.addEventListener('click', () => { if (next) load(next); });
  load();
  return () => { destroyed = true; };
}
