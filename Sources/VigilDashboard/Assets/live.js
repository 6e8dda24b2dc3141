// The live stream (GET /api/stream, WebSocket). Authenticates with its first message (a
// browser cannot set headers on a WebSocket, and a token in the URL would end up in logs),
// keeps the page's subscriptions across reconnects, and reconnects by itself with backoff
// after a server restart. Views subscribe to topics and get the decoded messages.

import { accessToken, onSession, refresh, signedIn } from './api.js';

const statusListeners = new Set();
const handlers = new Set();  // {topics: Set, fn}
const topicCounts = new Map();
let socket = null;
let ready = false;
let retryDelay = 500;
let retryTimer = 0;
let stopped = true;

/** Whether the stream is up and authenticated. */
export function isLive() { return ready; }

/** fn(live: boolean) on every change. */
export function onStatus(fn) {
  statusListeners.add(fn);
  return () => statusListeners.delete(fn);
}

function setReady(value) {
  if (ready === value) return;
  ready = value;
  for (const fn of statusListeners) fn(ready);
}

function send(object) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(object));
}

/** Starts (or keeps) the connection. */
export function start() {
  stopped = false;
  if (!socket) connect();
}

/** Closes the connection and stops reconnecting (sign-out). */
export function stop() {
  stopped = true;
  clearTimeout(retryTimer);
  if (socket) { const s = socket; socket = null; s.close(1000, 'signed out'); }
  setReady(false);
}

function connect() {
  clearTimeout(retryTimer);
  if (stopped || !signedIn()) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/stream`;
  let ws;
  try { ws = new WebSocket(url); } catch { return retry(); }
  socket = ws;
  ws.onopen = () => { send({ type: 'auth', token: accessToken() }); };
  ws.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    if (message.type === 'ready') {
      retryDelay = 500;
      const topics = [...topicCounts.keys()];
      if (topics.length) send({ type: 'subscribe', topics });
      setReady(true);
      return;
    }
    if (message.type === 'error') { console.warn('stream:', message.error, message.detail); return; }
    for (const handler of handlers) {
      try { handler.fn(message); } catch (error) { console.error(error); }
    }
  };
  ws.onclose = async (event) => {
    if (socket !== ws) return;
    socket = null;
    setReady(false);
    // 4001: no valid token or the session ended; a refresh tells which (a refused refresh signs
    // out; a server that is away keeps the session and the retries go on).
    if (event.code === 4001) await refresh();
    retry();
  };
  ws.onerror = () => { /* onclose follows */ };
}

function retry() {
  if (stopped || !signedIn()) return;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 5000);
}

/**
 * Subscribes to topics (`fleet`, `events`, `messages`, `host:<name>`); fn gets every stream
 * message while subscribed (views filter by type). Returns the unsubscribe function.
 */
export function subscribe(topics, fn) {
  const handler = { topics: new Set(topics), fn };
  handlers.add(handler);
  const added = [];
  for (const topic of topics) {
    const n = topicCounts.get(topic) || 0;
    topicCounts.set(topic, n + 1);
    if (n === 0) added.push(topic);
  }
  if (added.length && ready) send({ type: 'subscribe', topics: added });
  return () => {
    if (!handlers.delete(handler)) return;
    const removed = [];
    for (const topic of topics) {
      const n = topicCounts.get(topic) - 1;
      if (n <= 0) { topicCounts.delete(topic); removed.push(topic); } else topicCounts.set(topic, n);
    }
    if (removed.length && ready) send({ type: 'unsubscribe', topics: removed });
  };
}

// A fresh token is sent on the open connection (sliding); a sign-out closes it.
onSession((session) => {
  if (!session) { stop(); return; }
  if (ready) send({ type: 'auth', token: session.access_token });
});
