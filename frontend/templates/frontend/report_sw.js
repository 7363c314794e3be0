{% autoescape off %}// Service worker of the grid worker's phone page (/report/), served by frontend.phone.report_service_worker.
// It makes the page itself open with no network; the reports made there wait in the IndexedDB
// outbox (outbox.js), so nothing here touches the API.
//
//   navigation to the page   network first (NETWORK_TIMEOUT_MS), the copy of the page saved at
//                            the last successful visit when the network fails or is too slow
//   static files             cache first (precached on install: the page's CSS, Leaflet, modules)
//   everything else          the network, untouched: /api/, photos, tiles (websockets never pass here)
//
// The cache's name carries VERSION, a hash of the precached files made once per server process:
// a deploy that changes one of them changes this script, the browser installs it, and "activate"
// deletes the old cache.

const VERSION = {{ version }};
const PRECACHE = {{ precache }};
const PAGE_URL = new URL({{ page_url }}, self.location.href).href;
const STATIC_PREFIX = new URL({{ static_url }}, self.location.href).href;
const CACHE_PREFIX = "gridops-report-";
const CACHE = CACHE_PREFIX + VERSION;
const NETWORK_TIMEOUT_MS = 4000;

// The page that registers this worker was loaded before it existed: fetch a copy now, so the
// very next visit already works offline.
async function savePage(cache) {
  try {
    const response = await fetch(PAGE_URL, { credentials: "same-origin" });
    if (response.ok && !response.redirected) await cache.put(PAGE_URL, response);
  } catch {
    // offline while installing: the next successful visit saves it
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(PRECACHE);
      await savePage(cache);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function pageNetworkFirst(event) {
  const cache = await caches.open(CACHE);
  const network = fetch(event.request).then(async (response) => {
    if (response.ok && response.type === "basic") {
      await cache.put(PAGE_URL, response.clone());
    } else if (response.type === "opaqueredirect") {
      // Signed out (redirected to the login page): the last worker's page is not kept offline.
      await cache.delete(PAGE_URL);
    }
    return response;
  });
  event.waitUntil(network.catch(() => null)); // finish saving the copy even when the cache answered
  const timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS, null));
  try {
    const first = await Promise.race([network, timeout]);
    if (first) return first;
  } catch {
    // no network: the saved copy below
  }
  const saved = await cache.match(PAGE_URL, { ignoreVary: true });
  // No copy yet: wait for the network after all (or let the browser show its own error).
  return saved || network;
}

async function staticCacheFirst(request) {
  const cache = await caches.open(CACHE);
  const saved = await cache.match(request);
  if (saved) return saved;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (request.mode === "navigate" && url.origin + url.pathname === PAGE_URL) {
    event.respondWith(pageNetworkFirst(event));
  } else if (request.url.startsWith(STATIC_PREFIX)) {
    event.respondWith(staticCacheFirst(request));
  }
  // Anything else is not answered here: the browser sends it as if there were no service worker.
});
{% endautoescape %}