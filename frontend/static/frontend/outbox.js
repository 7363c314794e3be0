// Data module: the phone's outbox of reports. IndexedDB first, then POST /api/v1/reports/. No DOM.
//
// Every report is stored (fields, photo Blobs, a client UUID made when the report is made) before
// anything is sent, so a report made offline, or whose answer was lost, is never lost nor doubled:
// the server answers a resend with the same client_uuid by 200 + `Idempotent-Replayed: true`.
//
//   network error, 5xx, 408, 429  → stays queued; retried with backoff and on the `online` event
//   403 "CSRF Failed"             → a fresh token (refreshCsrfToken) and one more try at once;
//                                   refused again → stays queued, retried like a network error
//   other 4xx                     → stays in the queue as "failed" with the field message
//   200 / 201                     → sent: removed from the queue, "sent" event with the report
//
// Events dispatched (EventTarget):
//   "change"  detail {entries}          the queue as it is now (oldest first)
//   "sent"    detail {entry, report, replayed}

const DB_NAME = "gridops-outbox";
const DB_VERSION = 1;
const STORE = "reports";
const RETRY_STATUSES = new Set([408, 429]);
const BACKOFF_MIN_MS = 2000;
const BACKOFF_MAX_MS = 60000;

// DRF's answer when the session's CSRF check fails (its text is not translated); Django's own
// CSRF failure page is HTML (no JSON body). Either way the report itself is fine: never "failed".
function isCsrfFailure(status, body) {
  if (status !== 403) return false;
  return body === null || (typeof body?.detail === "string" && body.detail.startsWith("CSRF Failed"));
}

// A version-4 UUID; crypto.randomUUID is missing on older phones and outside secure contexts.
export function newClientUuid() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDatabase() {
  const request = indexedDB.open(DB_NAME, DB_VERSION);
  request.onupgradeneeded = () => {
    const db = request.result;
    if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "clientUuid" });
  };
  return promised(request);
}

// The first field-level message of a 4xx body {"field": ["message"]} (or DRF's "detail").
function fieldMessage(body) {
  if (!body || typeof body !== "object") return "";
  for (const [field, value] of Object.entries(body)) {
    if (Array.isArray(value) && value.length) return { field, message: String(value[0]) };
    if (typeof value === "string") return { field, message: value };
  }
  return "";
}

export class Outbox extends EventTarget {
  // url: POST address of reports; csrfToken: () => the token for the X-CSRFToken header;
  // refreshCsrfToken: async () => fetches a fresh token after a CSRF refusal (optional).
  constructor({ url, csrfToken, refreshCsrfToken = null }) {
    super();
    this.url = url;
    this.csrfToken = csrfToken;
    this.refreshCsrfToken = refreshCsrfToken;
    this.db = null;
    this.flushing = null;
    this.retryTimer = null;
    this.failures = 0;
    this.nextRetryAt = null;
  }

  async open() {
    this.db = await openDatabase();
    globalThis.addEventListener("online", () => this.flush());
    await this._changed();
    return this;
  }

  _store(mode) {
    return this.db.transaction(STORE, mode).objectStore(STORE);
  }

  async entries() {
    const rows = await promised(this._store("readonly").getAll());
    return rows.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async _put(entry) {
    await promised(this._store("readwrite").put(entry));
  }

  async _changed() {
    const entries = await this.entries();
    this.dispatchEvent(new CustomEvent("change", { detail: { entries } }));
    return entries;
  }

  // Store a new report (fields as the API names them, photos as Blobs) and try to send it.
  async add({ fields, photos = [], summary = {} }) {
    const clientUuid = newClientUuid();
    const entry = {
      clientUuid,
      createdAt: new Date().toISOString(),
      fields: { ...fields, client_uuid: clientUuid, reported_at: new Date().toISOString() },
      photos: photos.map((blob, i) => ({ blob, name: blob.name || `photo-${i + 1}.jpg` })),
      summary,
      state: "queued",
      attempts: 0,
      error: null,
    };
    await this._put(entry);
    await this._changed();
    this.flush();
    return entry;
  }

  async remove(clientUuid) {
    await promised(this._store("readwrite").delete(clientUuid));
    await this._changed();
  }

  // A failed report back in the queue (after the worker fixed what the server said, or to retry).
  async requeue(clientUuid) {
    const entry = await promised(this._store("readonly").get(clientUuid));
    if (!entry) return;
    entry.state = "queued";
    entry.error = null;
    await this._put(entry);
    await this._changed();
    this.flush();
  }

  // Send every queued report once, oldest first; one flush at a time.
  flush() {
    if (!this.db) return Promise.resolve();
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.nextRetryAt = null;
    this.flushing = this._flush().finally(() => {
      this.flushing = null;
      if (this.flushAgain) {
        this.flushAgain = false;
        this.flush();
      }
    });
    return this.flushing;
  }

  async _flush() {
    let retry = false;
    for (const entry of await this.entries()) {
      if (entry.state === "failed") continue;
      const outcome = await this._send(entry);
      if (outcome === "retry") {
        retry = true;
        break; // the network is down or the server busy: the rest would fare no better
      }
    }
    if (retry) {
      this.failures += 1;
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.failures - 1, 5));
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.nextRetryAt = Date.now() + delay;
      this.retryTimer = setTimeout(() => this.flush(), delay);
    } else {
      this.failures = 0;
    }
    await this._changed();
  }

  _request(entry) {
    const headers = { Accept: "application/json", "X-CSRFToken": this.csrfToken() };
    let body;
    if (entry.photos.length) {
      body = new FormData();
      for (const [key, value] of Object.entries(entry.fields)) {
        if (value !== null && value !== undefined && value !== "") body.append(key, String(value));
      }
      for (const photo of entry.photos) body.append("photos", photo.blob, photo.name);
    } else {
      headers["Content-Type"] = "application/json";
      const fields = Object.fromEntries(
        Object.entries(entry.fields).filter(([, v]) => v !== null && v !== undefined && v !== ""),
      );
      body = JSON.stringify(fields);
    }
    return fetch(this.url, { method: "POST", headers, body, credentials: "same-origin" });
  }

  async _send(entry) {
    entry.state = "sending";
    entry.attempts += 1;
    await this._put(entry);
    await this._changed();
    let response;
    let body;
    try {
      ({ response, body } = await this._post(entry));
      if (isCsrfFailure(response.status, body) && this.refreshCsrfToken) {
        // A stale token (the page came from the offline copy, or the worker signed in since).
        if (await this.refreshCsrfToken()) ({ response, body } = await this._post(entry));
      }
    } catch {
      return this._keep(entry, null); // offline, or the answer was lost on the way
    }
    if (response.ok) {
      await promised(this._store("readwrite").delete(entry.clientUuid));
      const replayed = response.headers.get("Idempotent-Replayed") === "true";
      this.dispatchEvent(new CustomEvent("sent", { detail: { entry, report: body, replayed } }));
      return "sent";
    }
    if (response.status >= 500 || RETRY_STATUSES.has(response.status) || isCsrfFailure(response.status, body)) {
      return this._keep(entry, response.status);
    }
    entry.state = "failed";
    entry.error = { status: response.status, ...(fieldMessage(body) || { field: "", message: `HTTP ${response.status}` }) };
    await this._put(entry);
    return "failed";
  }

  async _post(entry) {
    const response = await this._request(entry);
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { response, body };
  }

  async _keep(entry, status) {
    entry.state = "queued";
    entry.lastStatus = status;
    await this._put(entry);
    return "retry";
  }
}
