// The pages' small progressive layer. Pages are server-rendered and work as plain HTML; this
// adds: forms saved without leaving the page (field errors shown in place), live fragments
// refreshed on the SSE feed, relative times, the greeting preview, and countdowns.
'use strict';

// ---- forms that save ------------------------------------------------------------------------
// <form action="/app/save" data-enhance> works as a plain POST (the server turns the fields into
// the API's JSON and re-renders the page with errors). Here it is sent without leaving the page:
// the same POST with Accept: application/json, errors shown by their fields, then on to `next`.
function showErrors(form, error) {
  form.querySelectorAll('.field-error, .form-alert').forEach(e => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach(e => e.removeAttribute('aria-invalid'));
  const summary = form.querySelector('.form-status');
  const fields = (error && error.fields) || {};
  const unplaced = [];
  for (const [name, msg] of Object.entries(fields)) {
    const n = CSS.escape(name);
    const input = form.querySelector(`[name="${n}"], [name^="${n}."], [data-field="${n}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      const p = document.createElement('p');
      p.className = 'field-error error';
      p.id = `${input.id || name}-error`;
      p.textContent = msg;
      // The error joins the hint the field already points to.
      const hint = (input.getAttribute('aria-describedby') || '').split(' ').filter(id => id && !id.endsWith('-error'));
      input.setAttribute('aria-describedby', [...hint, p.id].join(' '));
      input.insertAdjacentElement('afterend', p);
    } else unplaced.push(`${name.replace(/_/g, ' ')}: ${msg}`);
  }
  if (summary) {
    summary.className = 'form-status error';
    summary.textContent = unplaced.length ? unplaced.join('; ') : (error && error.message) || 'Something went wrong. Try again.';
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first) first.focus();
}

// A short note at the bottom of the screen; survives the reload that follows a save.
function toast(text, bad) {
  const t = document.createElement('div');
  t.className = bad ? 'toast bad' : 'toast';
  t.setAttribute('role', bad ? 'alert' : 'status');
  t.textContent = text;
  document.body.appendChild(t);
  setTimeout(() => t.remove(), 4000);
}
const saved = sessionStorage.getItem('toast');
if (saved) { sessionStorage.removeItem('toast'); toast(saved, false); }

document.addEventListener('submit', async (e) => {
  const form = e.target.closest('form[data-enhance]');
  if (!form) return;
  e.preventDefault();
  const button = form.querySelector('[type=submit]');
  if (button) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  const status = form.querySelector('.form-status');
  if (status) { status.className = 'form-status'; status.textContent = 'Saving…'; }
  try {
    const r = await fetch(form.action, { method: 'POST', headers: { accept: 'application/json' }, body: new URLSearchParams(new FormData(form)) });
    if (r.status === 401) { location.href = '/session/refresh?next=' + encodeURIComponent(location.pathname + location.search); return; }
    const json = await r.json().catch(() => null);
    if (r.ok) {
      if (status) status.textContent = 'Saved';
      sessionStorage.setItem('toast', 'Saved');
      if (json && json.next) location.href = json.next; else location.reload();
    } else showErrors(form, json && json.error);
  } catch (err) {
    if (status) { status.className = 'form-status error'; status.textContent = 'Could not reach the server. Check your connection and try again.'; }
    toast('Not saved: no connection.', true);
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute('aria-busy');
  }
});

// "3 min ago" stays true while the page is open (older times name the day, which holds).
function refreshTimes(root) {
  root.querySelectorAll('time[data-ago]').forEach(el => {
    const mins = Math.floor((Date.now() - Date.parse(el.getAttribute('datetime'))) / 60000);
    if (mins < 1) el.textContent = 'just now';
    else if (mins < 60) el.textContent = `${mins} min ago`;
  });
}
setInterval(() => refreshTimes(document), 30000);

// ---- live fragments ------------------------------------------------------------------------
// <div data-live="/app/x/fragment" data-on="message.created conversation.updated">: refetched
// whenever one of those events arrives on the business's feed (one EventSource per page).
const live = document.querySelectorAll('[data-live]');
if (live.length && window.EventSource) {
  const es = new EventSource('/api/events');
  const kinds = new Set();
  live.forEach(el => (el.dataset.on || '').split(' ').filter(Boolean).forEach(k => kinds.add(k)));
  const pending = new Map();
  const refresh = (el) => {
    // Several events in a burst cost one fetch.
    if (pending.get(el)) return;
    pending.set(el, setTimeout(async () => {
      pending.set(el, null);
      const r = await fetch(el.dataset.live);
      if (!r.ok) return;
      const html = await r.text();
      if (el.innerHTML !== html) {
        const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 40;
        el.innerHTML = html;
        if ('stickBottom' in el.dataset && atBottom) el.scrollTop = el.scrollHeight;
        startCountdowns(el);
      }
    }, 50));
  };
  kinds.forEach(k => es.addEventListener(k, () => live.forEach(el => { if ((el.dataset.on || '').split(' ').includes(k)) refresh(el); })));
}
document.querySelectorAll('[data-stick-bottom]').forEach(el => { el.scrollTop = el.scrollHeight; });

// ---- countdowns ----------------------------------------------------------------------------
// <span data-until="2026-11-21T10:00:00Z">: seconds left, for the owner's head start.
function startCountdowns(root) {
  root.querySelectorAll('[data-until]').forEach(el => {
    const until = Date.parse(el.dataset.until);
    const tick = () => {
      const left = Math.max(0, Math.round((until - Date.now()) / 1000));
      el.textContent = left > 0 ? `${left}s` : 'now';
      if (left > 0) setTimeout(tick, 500);
    };
    tick();
  });
}
startCountdowns(document);

// ---- greeting preview ----------------------------------------------------------------------
// <textarea data-preview="/app/onboarding/preview" data-target="id">: the server renders the
// text exactly as it will be sent (opt-out line included) and counts its SMS segments.
document.querySelectorAll('textarea[data-preview]').forEach(t => {
  let timer = null;
  const update = async () => {
    const r = await fetch(t.dataset.preview + '?' + new URLSearchParams({ text: t.value }));
    if (r.ok) document.getElementById(t.dataset.target).innerHTML = await r.text();
  };
  t.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(update, 120); });
  update();
});

// ---- greeting upload -----------------------------------------------------------------------
// <input type=file data-upload="/api/voice/greeting-audio">: the file goes as the body of a PUT
// (the session cookie comes along); the API checks type, size and length and says why not.
document.querySelectorAll('input[type=file][data-upload]').forEach(input => {
  input.addEventListener('change', async () => {
    const file = input.files[0];
    const status = document.getElementById(input.id + '-status');
    if (!file) return;
    status.textContent = 'Uploading…';
    const r = await fetch(input.dataset.upload, { method: 'PUT', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' } });
    if (r.ok) { window.location.reload(); return; }
    const e = await r.json().catch(() => ({}));
    const fields = (e.error && e.error.fields) || {};
    status.textContent = fields.audio || (e.error && e.error.message) || 'That file was not saved.';
  });
});

// ---- home screen ---------------------------------------------------------------------------
// The service worker gives the installed app an offline page. On a phone, the app's pages offer
// installing once: Chromium browsers through their own prompt, iOS Safari (which has none) with
// the steps. Closing the hint, or declining the prompt, is remembered.
if ('serviceWorker' in navigator) {
  window.addEventListener('load', () => { navigator.serviceWorker.register('/sw.js').catch(() => {}); });
}

(function installHint() {
  const KEY = 'nmc-install-dismissed';
  const remembered = () => { try { return localStorage.getItem(KEY) === '1'; } catch (_) { return true; } };
  const remember = () => { try { localStorage.setItem(KEY, '1'); } catch (_) { /* private mode: ask again next time */ } };
  const installed = matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
  const phone = matchMedia('(max-width: 720px)').matches && matchMedia('(pointer: coarse)').matches;
  const appPage = location.pathname === '/app' || location.pathname.startsWith('/app/');
  if (installed || !phone || !appPage || remembered()) return;

  let hint = null;
  const hide = () => { if (hint) hint.remove(); hint = null; };
  const show = (text, install) => {
    const main = document.querySelector('main');
    if (!main || hint) return;
    hint = document.createElement('div');
    hint.className = 'install-hint';
    hint.setAttribute('role', 'region');
    hint.setAttribute('aria-label', 'Install the app');
    const p = document.createElement('p');
    p.textContent = text;
    hint.append(p);
    if (install) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Install';
      b.addEventListener('click', install);
      hint.append(b);
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'link';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => { remember(); hide(); });
    hint.append(close);
    // After the navigation, so "Skip to content" stays the first thing to tab to.
    const nav = main.querySelector(':scope > nav');
    if (nav) nav.after(hint); else main.prepend(hint);
  };

  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);
  if ('onbeforeinstallprompt' in window) {
    window.addEventListener('beforeinstallprompt', (e) => {
      // Our hint instead of the browser's mini-infobar; the prompt needs a tap on Install.
      e.preventDefault();
      show('Add NeverMissCall to your home screen: it opens like an app, one tap away.', async () => {
        hide();
        await e.prompt();
        const choice = await e.userChoice;
        if (choice.outcome === 'dismissed') remember();
      });
    });
    window.addEventListener('appinstalled', hide);
  } else if (ios) {
    show('Add NeverMissCall to your home screen: tap Share, then Add to Home Screen.');
  }
})();

// ---- alerts on this device (Web Push) ------------------------------------------------------------
// On the alerts page: one button turns alerts on for this browser (permission, subscribe with our
// VAPID key, hand the subscription to the server) or off again. Without push support it says so.
(function pushAlerts() {
  const box = document.getElementById('push-alerts');
  if (!box) return;
  const status = document.createElement('p');
  status.className = 'form-status';
  status.setAttribute('role', 'status');
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) {
    status.textContent = 'This browser cannot show alerts while the app is closed. Text and email alerts still reach you.';
    box.append(status);
    return;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'push-toggle';
  box.append(button, status);
  const bytes = (s) => {
    const raw = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - s.length % 4) % 4));
    return Uint8Array.from(raw, c => c.charCodeAt(0));
  };
  const api = (method, path, body) => fetch(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const show = async () => {
    const sub = await (await navigator.serviceWorker.ready).pushManager.getSubscription();
    button.textContent = sub ? 'Turn off alerts on this device' : 'Turn on alerts on this device';
  };
  button.addEventListener('click', async () => {
    status.className = 'form-status';
    try {
      const reg = await navigator.serviceWorker.ready;
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await api('DELETE', '/api/push/subscriptions', { endpoint: sub.endpoint });
        await sub.unsubscribe();
        status.textContent = 'Alerts are off on this device.';
      } else if (await Notification.requestPermission() !== 'granted') {
        status.textContent = 'Alerts are blocked for this site: allow notifications in the browser settings.';
      } else {
        const key = (await (await fetch('/api/push/vapid-public-key')).json()).public_key;
        const fresh = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes(key) });
        const r = await api('POST', '/api/push/subscriptions', fresh.toJSON());
        if (!r.ok) throw new Error(`the server said ${r.status}`);
        status.textContent = 'Alerts are on for this device.';
      }
    } catch (e) {
      status.className = 'form-status error';
      status.textContent = `Could not change alerts: ${e.message}`;
    }
    show();
  });
  show();
})();
