// The booth form's service worker: it keeps the form pages and their
// assets on the device, so that the form opens with no network. Leads do
// not pass through here: the page queues them in IndexedDB and sends them.
const ASSETS = {{.Assets}};
const STATIC = 'leadcap-static-' + {{.Version}};
const PAGES = 'leadcap-pages';

self.addEventListener('install', e => e.waitUntil((async () => {
  await (await caches.open(STATIC)).addAll(ASSETS);
  // Pages kept by an older version name older assets: fetch them anew.
  const pages = await caches.open(PAGES);
  await Promise.all((await pages.keys()).map(req =>
    fetch(req.url).then(res => res.ok && pages.put(req, res)).catch(() => {})));
  await self.skipWaiting();
})()));

self.addEventListener('activate', e => e.waitUntil((async () => {
  for (const k of await caches.keys()) {
    if (k.startsWith('leadcap-static-') && k !== STATIC) await caches.delete(k);
  }
  await self.clients.claim();
})()));

self.addEventListener('fetch', e => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/static/')) {
    e.respondWith(caches.match(req).then(hit => hit || fetch(req)));
  } else if (req.mode === 'navigate' && /^\/c\/[a-z0-9-]+$/.test(url.pathname)) {
    e.respondWith(page(e, req));
  }
});

// page answers a form page from the network when it answers in time, and
// from the cache when the network fails, is slow, or the server errs. A
// page the server says is gone (a closed conference) leaves the cache.
async function page(e, req) {
  const pages = await caches.open(PAGES);
  const net = fetch(req).then(async res => {
    if (res.ok) await pages.put(req, res.clone());
    else if (res.status < 500) await pages.delete(req, {ignoreVary: true});
    return res;
  });
  e.waitUntil(net.catch(() => {}));
  const cached = () => pages.match(req, {ignoreVary: true});
  try {
    const res = await Promise.race([net, new Promise((_, fail) => setTimeout(fail, 4000))]);
    return res.status >= 500 ? (await cached()) || res : res;
  } catch {
    return (await cached()) || net;
  }
}
