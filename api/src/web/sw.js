// The service worker: gives the installed app an offline page, and caches nothing else. Pages
// and API answers carry the owner's customers and jobs, and a phone can be shared, so they
// always come from the network and are never stored here.
'use strict';

// Bump on any change to what is precached (the offline page's wording too): activate then drops
// the old cache, and the changed bytes make browsers install this worker anew.
const CACHE = 'nmc-v1';
const OFFLINE = '/offline';
// Public and the same for every business.
const PRECACHE = [
  OFFLINE,
  '/assets/icons/icon.svg',
  '/assets/icons/icon-192.png',
  '/assets/icons/icon-512.png',
  '/assets/icons/maskable-512.png',
  '/assets/icons/apple-touch-icon.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE)
    // `reload`: fresh copies from the server, not the browser's HTTP cache.
    .then(cache => cache.addAll(PRECACHE.map(url => new Request(url, { cache: 'reload' }))))
    // No page depends on this worker's version, so a new one can take over at once.
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter(n => n.startsWith('nmc-') && n !== CACHE).map(n => caches.delete(n)));
    // Navigations then start while the worker boots, not after.
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    // The page that registered the worker gets the offline page too, without a reload.
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  // A form's post goes to the network as it is; offline, the browser says so and keeps it.
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate') {
    event.respondWith((async () => {
      try {
        return (await event.preloadResponse) || await fetch(request);
      } catch (_) {
        return (await caches.match(OFFLINE)) || Response.error();
      }
    })());
    return;
  }
  // The precached files from the cache (the offline page shows the icon); anything else is
  // left to the browser.
  const url = new URL(request.url);
  if (request.method === 'GET' && url.origin === self.location.origin && PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then(hit => hit || fetch(request)));
  }
});

// ---- Web Push --------------------------------------------------------------------------------
// An alert arrives encrypted for this browser; the push service only relays it. It shows as a
// notification (one per conversation: a newer alert replaces the older), and a tap opens the
// alert's link, which lands on the thread (after log-in if needed). Nothing is cached.
self.addEventListener('push', (event) => {
  let alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch (_) {
    alert = { body: event.data ? event.data.text() : '' };
  }
  const name = alert.title || 'NeverMissCall';
  const title = alert.priority ? `EMERGENCY · ${name}` : name;
  event.waitUntil(self.registration.showNotification(title, {
    body: alert.body || 'You have a new alert.',
    tag: alert.tag ? String(alert.tag) : undefined,
    renotify: Boolean(alert.tag),
    requireInteraction: Boolean(alert.priority),
    icon: '/assets/icons/icon-192.png',
    badge: '/assets/icons/icon-192.png',
    data: { url: alert.url || '/app/notifications' },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  // Same origin only: a notification never sends the owner elsewhere.
  let url = new URL((event.notification.data && event.notification.data.url) || '/app/notifications', self.location.origin);
  if (url.origin !== self.location.origin) url = new URL('/app/notifications', self.location.origin);
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const here = open.find(w => new URL(w.url).origin === self.location.origin && 'navigate' in w);
    if (here) {
      await here.focus();
      return here.navigate(url.href);
    }
    return self.clients.openWindow(url.href);
  })());
});

// The browser renewed the subscription (keys or endpoint changed): tell the server, so alerts
// keep arriving. Runs with the member's cookie, like the page.
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const key = (await (await fetch('/api/push/vapid-public-key')).json()).public_key;
    const raw = atob(key.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - key.length % 4) % 4));
    const sub = await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: Uint8Array.from(raw, c => c.charCodeAt(0)),
    });
    await fetch('/api/push/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(sub.toJSON()),
    });
  })());
});
