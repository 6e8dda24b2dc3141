// The page shell: hash routes, the navigation bar, the signed-in user and the live status.
//
// Routes: #/login, #/fleet, #/hosts/<name>, #/alerts, #/messages, #/files, #/account.

import { currentUser, logout, onSession, signedIn } from './api.js';
import { onStatus, start } from './live.js';
import { clear } from './dom.js';
import * as login from './login.js';
import * as fleet from './fleet.js';
import * as host from './host.js';
import * as alerts from './alerts.js';
import * as messages from './messages.js';
import * as files from './files.js';
import * as account from './account.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const whoami = document.getElementById('whoami');
const liveStatus = document.getElementById('live-status');
const NAV = { fleet: 'nav-fleet', hosts: 'nav-fleet', alerts: 'nav-alerts', messages: 'nav-messages', files: 'nav-files' };
const VIEWS = { login, fleet, hosts: host, alerts, messages, files, account };
const TITLES = { login: 'Sign in', fleet: 'Fleet', hosts: 'Host', alerts: 'Alerts', messages: 'Messages', files: 'Files', account: 'Account' };
let unmount = null;
let afterLogin = '#/fleet';

function parse(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const name = parts[0] || 'fleet';
  if (name === 'hosts' && parts[1]) return { name, params: { host: decodeURIComponent(parts.slice(1).join('/')) } };
  return { name: VIEWS[name] && name !== 'hosts' ? name : 'fleet', params: {} };
}

function route() {
  let { name, params } = parse(location.hash);
  if (!signedIn() && name !== 'login') {
    afterLogin = location.hash && location.hash !== '#/login' ? location.hash : '#/fleet';
    location.replace('#/login');
    return;
  }
  if (signedIn() && name === 'login') { location.replace(afterLogin); return; }
  if (unmount) { unmount(); unmount = null; }
  clear(main);
  topbar.hidden = name === 'login';
  for (const id of new Set(Object.values(NAV))) {
    const link = document.getElementById(id);
    if (NAV[name] === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${name === 'hosts' ? params.host : TITLES[name]} · Vigil`;
  unmount = VIEWS[name].mount(main, params, { onSignedIn: () => location.replace(afterLogin) }) || null;
  if (name !== 'login') main.focus({ preventScroll: true });
}

function showUser() {
  const user = currentUser();
  whoami.textContent = user ? `${user.name} (${user.role})` : '';
}

document.getElementById('signout').addEventListener('click', async () => {
  afterLogin = '#/fleet';
  await logout();
});

onStatus((live) => {
  liveStatus.textContent = live ? 'live' : 'reconnecting';
  liveStatus.className = live ? 'live' : 'offline';
});

// Sign-in starts the stream; sign-out (or a refused refresh) goes back to the form.
let wasSignedIn = signedIn();
onSession((session) => {
  showUser();
  if (session && !wasSignedIn) start();
  wasSignedIn = !!session;
  if (!session) route();
});

window.addEventListener('hashchange', route);
showUser();
if (signedIn()) start();
route();
