// The REST API client and the sign-in session.
//
// Tokens live in sessionStorage (gone with the tab, never in a cookie or the URL). The access
// token is refreshed shortly before it expires; a 401 tries one refresh and then sends the page
// to the sign-in form.

const KEY = 'vigil.session';
const listeners = new Set();
let session = load();
let refreshing = null;
let refreshTimer = 0;

/** An API error: `status`, `error` (the code) and `detail` from {"error","detail"}. */
export class ApiError extends Error {
  constructor(status, error, detail, retryAfter) {
    super(detail || error || `HTTP ${status}`);
    this.status = status;
    this.error = error;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

function load() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return s && s.access_token ? s : null;
  } catch { return null; }
}

function save(next) {
  session = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  schedule();
  for (const fn of listeners) fn(session);
}

/** Called with the session (or null) whenever it changes: sign-in, refresh, sign-out. */
export function onSession(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function currentUser() { return session ? session.user : null; }
export function accessToken() { return session ? session.access_token : null; }
export function signedIn() { return session !== null; }

/** Whether the signed-in user has at least `role` (viewer < operator < admin). */
export function hasRole(role) {
  const order = ['viewer', 'operator', 'admin'];
  const user = currentUser();
  return !!user && order.indexOf(user.role) >= order.indexOf(role);
}

function fromTokens(body) {
  const now = Date.now();
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    expires_at: now + (body.expires_in || 900) * 1000,
    refresh_expires_at: now + (body.refresh_expires_in || 0) * 1000,
    user: body.user,
  };
}

// Refresh at 80 % of the access token's life (at least 5 s ahead), so it never lapses while the page is open.
function schedule() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const left = session.expires_at - Date.now();
  const delay = Math.max(1000, Math.min(left * 0.8, left - 5000));
  refreshTimer = setTimeout(() => { refresh(); }, delay);
}

async function errorFrom(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON */ }
  return new ApiError(response.status, body.error, body.detail, Number(response.headers.get('Retry-After')) || undefined);
}

/** Signs in; throws ApiError (401 invalid_credentials, 429 too_many_attempts with retryAfter). */
export async function login(username, password) {
  const response = await fetch('/api/auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw await errorFrom(response);
  save(fromTokens(await response.json()));
  return session.user;
}

/** Trades the refresh token for a new pair (once at a time). Resolves true on success. */
export function refresh() {
  if (refreshing) return refreshing;
  const token = session && session.refresh_token;
  if (!token) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const response = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      });
      if (response.ok) {
        save(fromTokens(await response.json()));
        return true;
      }
      if (response.status === 401 || response.status === 400) save(null);
      return false;
    } catch {
      schedule();  // the server is away (restart): try again later, keep the session
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Signs out on the server (best effort) and forgets the tokens. */
export async function logout() {
  const token = accessToken();
  save(null);
  if (token) {
    try { await fetch('/api/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${token}` } }); } catch { /* gone anyway */ }
  }
}

/** Forgets the session without asking the server (it has already refused it). */
export function forget() { save(null); }

/**
 * Calls the API with the bearer token. Returns parsed JSON (or the Response with `raw`).
 * A 401 refreshes once and retries; a second 401 ends the session.
 */
export async function api(path, { method = 'GET', body, raw = false, signal } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    const token = accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    if (response.status === 401 && attempt === 0 && session && await refresh()) continue;
    if (response.status === 401) {
      save(null);
      throw await errorFrom(response);
    }
    if (!response.ok) throw await errorFrom(response);
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }
}

schedule();
