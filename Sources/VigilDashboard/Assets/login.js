// The sign-in form.

import { ApiError, login } from './api.js';
import { h } from './dom.js';

export function mount(main, params, { onSignedIn }) {
  const username = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { id: 'login-submit', type: 'submit', text: 'Sign in' });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' });
  const form = h('form', { id: 'login-form', class: 'login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', text: 'Sign in to Vigil' }),
    h('label', { for: 'login-username', text: 'User name' }), username,
    h('label', { for: 'login-password', text: 'Password' }), password,
    error, submit);
  main.append(h('section', { id: 'login-view' }, form));
  username.focus();

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    try {
      await login(username.value.trim(), password.value);
      password.value = '';
      onSignedIn();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) error.textContent = 'Wrong user name or password.';
      else if (e instanceof ApiError && e.status === 429) error.textContent = `Too many failed sign-ins. Try again in ${e.retryAfter ? Math.ceil(e.retryAfter / 60) + ' min' : 'a while'}.`;
      else error.textContent = `Could not sign in: ${e.message}`;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  return () => {};
}
