// The signed-in user's account (change password) and, for admins, the users: add, change role,
// reset a password, remove.

import { api, currentUser, hasRole } from './api.js';
import { clear, fmtTime, h, parseTime, row, table } from './dom.js';

const ROLES = ['viewer', 'operator', 'admin'];

function field(id, label, attrs) {
  return [h('label', { for: id, text: label }), h('input', { id, ...attrs })];
}

export function mount(main) {
  let destroyed = false;
  const user = currentUser();
  const status = h('p', { class: 'muted', role: 'status', id: 'account-status' });
  const [curLabel, current] = field('password-current', 'Current password', { type: 'password', autocomplete: 'current-password', required: true });
  const [newLabel, next] = field('password-new', 'New password', { type: 'password', autocomplete: 'new-password', required: true, minlength: '10' });
  // The user name, hidden, tells password managers whose password this is.
  const passwordForm = h('form', { id: 'password-form', class: 'stack' },
    h('input', { type: 'text', autocomplete: 'username', value: user.name, readonly: true, hidden: true, tabindex: '-1' }),
    curLabel, current, newLabel, next,
    h('button', { type: 'submit', text: 'Change password' }));
  const view = h('section', { id: 'account-view', 'aria-labelledby': 'account-title' },
    h('div', { class: 'view-head' }, h('h1', { id: 'account-title', text: 'Account' }),
      h('span', { class: 'muted', text: `${user.name} (${user.role})` })),
    status,
    h('section', { class: 'panel' }, h('h2', { text: 'Change your password' }),
      h('p', { class: 'muted', text: 'Your other sessions are signed out.' }), passwordForm));
  main.append(view);

  passwordForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/api/auth/password', { method: 'POST', body: { current_password: current.value, new_password: next.value } });
      current.value = '';
      next.value = '';
      status.textContent = 'Password changed.';
    } catch (error) {
      status.textContent = error.error === 'wrong_password' ? 'The current password is wrong.' : `Not changed: ${error.message}`;
    }
  });

  if (!hasRole('admin')) return () => { destroyed = true; };

  // Users (admins only).
  const users = table('users-table', null, ['Name', 'Role', 'Created', '']);
  const [nameLabel, name] = field('user-name', 'Name', { required: true, autocomplete: 'off', spellcheck: 'false' });
  const [pwLabel, password] = field('user-password', 'Password', { type: 'password', autocomplete: 'new-password', required: true, minlength: '10' });
  const role = h('select', { id: 'user-role' }, ...ROLES.map((r) => h('option', { value: r, text: r })));
  const addForm = h('form', { id: 'user-form', class: 'inline-form' }, nameLabel, name, pwLabel, password,
    h('label', { for: 'user-role', text: 'Role' }), role, h('button', { type: 'submit', text: 'Add user' }));
  view.append(h('section', { class: 'panel' }, h('h2', { text: 'Users' }), h('div', { class: 'table-wrap' }, users.table), addForm));

  async function load() {
    try {
      const list = await api('/api/users');
      if (destroyed) return;
      const fragment = document.createDocumentFragment();
      for (const u of list) {
        const select = h('select', { 'aria-label': `Role of ${u.name}` }, ...ROLES.map((r) => h('option', { value: r, text: r, selected: r === u.role })));
        select.addEventListener('change', () => change(u.name, { role: select.value }, `${u.name} is now ${select.value}.`));
        const reset = h('button', { type: 'button', class: 'secondary', text: 'Set password' });
        reset.addEventListener('click', () => {
          const pw = prompt(`New password for ${u.name} (at least 10 characters)`);
          if (pw) change(u.name, { password: pw }, `Password of ${u.name} set; their sessions are signed out.`);
        });
        const remove = h('button', { type: 'button', class: 'secondary', text: 'Remove', disabled: u.name === user.name });
        remove.addEventListener('click', async () => {
          if (!confirm(`Remove ${u.name}? Their sessions end at once.`)) return;
          try { await api(`/api/users/${encodeURIComponent(u.name)}`, { method: 'DELETE' }); status.textContent = `${u.name} removed.`; } catch (error) { status.textContent = `Not removed: ${error.message}`; }
          load();
        });
        fragment.append(row([u.name, select, fmtTime(parseTime(u.created_at)), h('span', { class: 'actions' }, reset, ' ', remove)]));
      }
      clear(users.tbody);
      users.tbody.append(fragment);
    } catch (error) {
      if (!destroyed) status.textContent = `Could not load users: ${error.message}`;
    }
  }

  async function change(target, body, done) {
    try {
      await api(`/api/users/${encodeURIComponent(target)}`, { method: 'PATCH', body });
      status.textContent = done;
    } catch (error) {
      status.textContent = `Not changed: ${error.message}`;
    }
    load();
  }

  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('/api/users', { method: 'POST', body: { name: name.value.trim(), password: password.value, role: role.value } });
      status.textContent = `${name.value.trim()} added as ${role.value}.`;
      name.value = '';
      password.value = '';
      load();
    } catch (error) {
      status.textContent = `Not added: ${error.message}`;
    }
  });
  load();
  return () => { destroyed = true; };
}
