// paperlab's service worker: a visited page keeps working offline.
//
// The cache is keyed by the build: the page registers `sw.js?build=<hash of the app's file
// name>`, so a new build installs a new worker with a new cache and deletes the old one (no
// stale app after an update). Pages are fetched network-first (online users always get the
// latest build); the app's files have content-hashed names and come from the cache.
// Registered by sw-register.js; not on a local development server unless `?sw=1`.

const BUILD = new URL(self.location.href).searchParams.get('build') || 'unknown';
const CACHE = `paperlab-${BUILD}`;

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const page = await fetch('./', { cache: 'no-cache' });
    if (!page.ok) throw new Error(`page: HTTP ${page.status}`);
    const html = await page.clone().text();
    // Every file the page names ('./...' in attributes and in the start-up script).
    const files = new Set(['./manifest.webmanifest']);
    for (const match of html.matchAll(/['"](\.\/[^'"?#]+)['"]/g)) files.add(match[1]);
    files.delete('./');
    await cache.put('./', page);
    await cache.addAll([...files]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith('paperlab-') && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(async () => {
      const cached = await caches.match('./', { cacheName: CACHE });
      return cached ?? Response.error();
    }));
    return;
  }
  // ignoreSearch: the worker's files are fetched with ?build=<key> (web/worker-loader.js) and
  // cached under their plain names; this cache holds one build only, so the key adds nothing.
  event.respondWith((async () => {
    const cached = await caches.match(request, { cacheName: CACHE, ignoreSearch: true });
    return cached ?? fetch(request);
  })());
});
