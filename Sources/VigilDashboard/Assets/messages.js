// Messages: the server's conversation (what it sent, what hosts sent it, broadcasts), live, and
// for operators and admins a form to write to one host or to everyone. For a viewer the form is
// not in the page at all.

import { api, hasRole } from './api.js';
import { isLive, subscribe } from './live.js';
import { fmtTime, h, parseTime } from './dom.js';

export function mount(main) {
  let destroyed = false;
  let pollTimer = 0;
  const seen = new Set();
  const log = h('ol', { id: 'chat-log', class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' });
  const status = h('p', { class: 'muted', role: 'status' });
  const canSend = hasRole('operator');
  let form = null;
  let recipient = null;
  let input = null;
  let sendButton = null;

  if (canSend) {
    recipient = h('select', { id: 'chat-recipient' }, h('option', { value: '', text: 'Everyone (broadcast)' }));
    input = h('input', { id: 'chat-input', type: 'text', autocomplete: 'off', required: true, placeholder: 'Write a message' });
    sendButton = h('button', { id: 'chat-send', type: 'submit', text: 'Send' });
    form = h('form', { id: 'chat-form', class: 'chat-form' },
      h('label', { for: 'chat-recipient', text: 'To' }), recipient,
      h('label', { for: 'chat-input', class: 'visually-hidden', text: 'Message' }), input, sendButton);
  }

  main.append(h('section', { id: 'messages-view', 'aria-labelledby': 'messages-title' },
    h('div', { class: 'view-head' }, h('h1', { id: 'messages-title', text: 'Messages' })),
    h('div', { class: 'chat' }, log, status, form || h('p', { class: 'muted', text: 'Viewers can read messages; an operator or admin can send.' }))));

  function add(m) {
    if (seen.has(m.id)) return;
    seen.add(m.id);
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const to = m.recipient === null || m.recipient === undefined ? 'everyone' : m.recipient;
    const item = h('li', { class: `msg${m.sender === 'server' ? ' mine' : ''}${m.kind === 'notice' ? ' notice' : ''}`, dataset: { sender: m.sender, id: String(m.id) } },
      h('div', { class: 'meta' }, h('strong', { text: m.sender }), ` → ${to} · `, h('time', { datetime: m.stored_at || m.sent_at || '', text: fmtTime(parseTime(m.stored_at || m.sent_at)) })),
      h('div', { class: 'content', text: m.content }));
    // Keep the log in id order (a live message may overtake the history's answer).
    let before = null;
    for (let el = log.lastElementChild; el && Number(el.dataset.id) > m.id; el = el.previousElementSibling) before = el;
    log.insertBefore(item, before);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  async function load() {
    try {
      const page = await api('/api/messages?client=server&limit=200');
      if (destroyed) return;
      for (const m of page.messages.slice().reverse()) add(m);
      log.scrollTop = log.scrollHeight;
      status.textContent = seen.size ? '' : 'No messages yet.';
    } catch (error) {
      if (!destroyed) status.textContent = `Could not load messages: ${error.message}`;
    }
  }

  async function loadRecipients() {
    try {
      const agents = await api('/api/agents');
      if (destroyed) return;
      const fragment = document.createDocumentFragment();
      for (const name of agents.map((a) => a.hostname).sort()) fragment.append(h('option', { value: name, text: name }));
      recipient.append(fragment);
    } catch { /* broadcast still works */ }
  }

  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const content = input.value;
      if (!content.trim()) return;
      sendButton.disabled = true;
      try {
        const m = await api('/api/messages', { method: 'POST', body: { recipient: recipient.value || null, content } });
        add(m);
        input.value = '';
        status.textContent = '';
        log.scrollTop = log.scrollHeight;
      } catch (error) {
        status.textContent = `Not sent: ${error.message}`;
      } finally {
        sendButton.disabled = false;
        input.focus();
      }
    });
    loadRecipients();
  }

  const unsubscribe = subscribe(['messages'], (msg) => {
    if (msg.type === 'message' && msg.message) { status.textContent = ''; add(msg.message); }
  });
  const poll = () => {
    pollTimer = setTimeout(async () => {
      if (!isLive()) await load();
      if (!destroyed) poll();
    }, 5000);
  };
  load();
  poll();
  return () => { destroyed = true; clearTimeout(pollTimer); unsubscribe(); };
}
