// The pages' small progressive layer. Pages are server-rendered and work as plain HTML; this
// adds: forms that save through the owner API (JSON, field errors shown in place), live
// fragments refreshed on the SSE feed, the greeting preview, and countdowns.
'use strict';

// ---- forms that save through the API ------------------------------------------------------
// <form data-api="/api/x" data-method="PUT" data-merge data-next="/app/y">: inputs become a JSON
// body (name="a.b" nests; data-type int|cents|bool|list|null-if-empty), data-merge starts from
// a GET of the same URL (so a PUT keeps the fields the form does not show).
function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  keys.slice(0, -1).forEach(k => { if (typeof o[k] !== 'object' || o[k] === null) o[k] = {}; o = o[k]; });
  o[keys[keys.length - 1]] = value;
}

function deletePath(obj, path) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) { if (!o[k]) return; o = o[k]; }
  delete o[keys[keys.length - 1]];
}

function fieldValue(el) {
  const t = el.dataset.type || '';
  if (el.type === 'radio') return el.checked ? el.value : undefined;
  if (el.type === 'checkbox') return t === 'bool' ? el.checked : (el.checked ? el.value : undefined);
  const v = el.value.trim();
  if (v === '' && 'optional' in el.dataset) return null;
  if (t === 'int') return v === '' ? null : Number.parseInt(v, 10);
  if (t === 'cents') return v === '' ? null : Math.round(Number.parseFloat(v.replace(/[$,]/g, '')) * 100);
  if (t === 'list') return v.split(',').map(s => s.trim()).filter(Boolean);
  if (t === 'intlist') return v.split(',').map(s => s.trim()).filter(Boolean).map(Number);
  if (t === 'hourlist') return v.split(',').map(s => s.trim()).filter(Boolean).map(h => Math.round(Number(h) * 3600));
  if (t === 'time') return v.length === 5 ? v + ':00' : v;
  if (t === 'datetime') return v === '' ? null : new Date(v).toISOString();
  return v;
}

async function formBody(form) {
  let body = {};
  if ('merge' in form.dataset) {
    const r = await fetch(form.dataset.api, { headers: { accept: 'application/json' } });
    if (r.ok) body = await r.json();
  }
  // Groups (e.g. a closed weekday) can remove a key: data-drop-unless="checkbox id".
  const changedOnly = 'changedOnly' in form.dataset;
  const changed = (el) => el.tagName === 'SELECT'
    ? [...el.options].some(o => o.selected !== o.defaultSelected)
    : (el.type === 'checkbox' || el.type === 'radio') ? el.checked !== el.defaultChecked : el.value !== el.defaultValue;
  for (const el of form.querySelectorAll('[name]')) {
    if (el.disabled) continue;
    // Lead cards send only what the owner changed: an owner's edit locks that field.
    if (changedOnly && !changed(el)) continue;
    const v = fieldValue(el);
    if (v === undefined) continue;
    setPath(body, el.name, v);
  }
  for (const el of form.querySelectorAll('[data-drop-unless]')) {
    if (!el.checked) deletePath(body, el.dataset.dropUnless);
  }
  return body;
}

function showErrors(form, error) {
  form.querySelectorAll('.field-error').forEach(e => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach(e => e.removeAttribute('aria-invalid'));
  const summary = form.querySelector('.form-status');
  const fields = (error && error.fields) || {};
  const unplaced = [];
  for (const [name, msg] of Object.entries(fields)) {
    const input = form.querySelector(`[name="${name}"], [name^="${name}."], [data-field="${name}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      const p = document.createElement('p');
      p.className = 'field-error error';
      p.id = `${input.id || name}-error`;
      p.textContent = msg;
      input.setAttribute('aria-describedby', p.id);
      input.insertAdjacentElement('afterend', p);
    } else unplaced.push(`${name}: ${msg}`);
  }
  if (summary) {
    summary.className = 'form-status error';
    summary.textContent = unplaced.length ? unplaced.join('; ') : (error && error.message) || 'Something went wrong. Try again.';
  }
}

async function callApi(url, method, body) {
  const r = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 401) { location.href = '/session/refresh?next=' + encodeURIComponent(location.pathname + location.search); throw new Error('signed out'); }
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  return { ok: r.ok, status: r.status, json };
}

function done(el, json) {
  const next = el.dataset.next;
  if (next) location.href = next.replace('{id}', json && json.id ? json.id : '');
  else location.reload();
}

document.addEventListener('submit', async (e) => {
  const form = e.target.closest('form[data-api]');
  if (!form) return;
  e.preventDefault();
  const button = form.querySelector('[type=submit]');
  if (button) button.disabled = true;
  const status = form.querySelector('.form-status');
  if (status) { status.className = 'form-status'; status.textContent = 'Saving…'; }
  try {
    const method = form.dataset.method || 'POST';
    const r = await callApi(form.dataset.api, method, method === 'DELETE' ? undefined : await formBody(form));
    if (r.ok) {
      if (status) status.textContent = 'Saved';
      done(form, r.json);
    } else showErrors(form, r.json && r.json.error);
  } catch (err) {
    if (status) { status.className = 'form-status error'; status.textContent = 'Could not reach the server. Check your connection and try again.'; }
  } finally {
    if (button) button.disabled = false;
  }
});

// <button data-action="/api/x" data-method="POST" data-body='{"a":1}' data-confirm="Sure?">
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
  b.disabled = true;
  const r = await callApi(b.dataset.action, b.dataset.method || 'POST', b.dataset.body ? JSON.parse(b.dataset.body) : undefined).catch(() => null);
  b.disabled = false;
  if (r && r.ok) done(b, r.json);
  else alert((r && r.json && r.json.error && r.json.error.message) || 'That did not work. Try again.');
});

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
