// Grid worker's phone page: here (GPS or a tap) → which cell and team, then report it.
// Reports go through the IndexedDB outbox (outbox.js) first, so nothing is lost offline.
// State comes from the json_script block "report-state" (API addresses, user, strings).
/* global L */

import * as api from "./api.js";
import { LiveConnection } from "./live.js";
import { Outbox } from "./outbox.js";
import { Verifier } from "./verify.js";

const state = JSON.parse(document.getElementById("report-state").textContent);
const t = state.i18n;
const language = document.documentElement.lang || "zh-hans";

const mapElement = document.getElementById("report-map");
const geoStatus = document.getElementById("geo-status");
const routeBox = document.getElementById("route-box");
const matterSearch = document.getElementById("matter-search");
const matterList = document.getElementById("matter-list");
const matterChosen = document.getElementById("matter-chosen");
const photoInput = document.getElementById("photo-input");
const photoPreviews = document.getElementById("photo-previews");
const descriptionInput = document.getElementById("description");
const form = document.getElementById("report-form");
const formError = document.getElementById("form-error");
const sendResult = document.getElementById("send-result");
const outboxList = document.getElementById("outbox-list");
const outboxEmpty = document.getElementById("outbox-empty");
const myReports = document.getElementById("my-reports");
const liveStatus = document.getElementById("live-status");
const verifyLink = document.getElementById("verify-link");

function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

// "%(name)s" placeholders, as Django's gettext strings have them.
function fmt(template, params) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(params[key] ?? ""));
}

function formatTime(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(language, {
    timeZone: state.timeZone,
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(new Date(iso));
}

// --- Map ----------------------------------------------------------------------------------------
const map = L.map(mapElement, {
  center: state.map.center,
  zoom: state.map.zoom,
  minZoom: state.map.minZoom,
  maxZoom: state.map.maxZoom,
});
map.attributionControl.setPrefix("Leaflet");
// No tile layer unless settings give a template: then not a single request leaves the server.
const basemap = state.tiles.url
  ? L.tileLayer(state.tiles.url, { attribution: state.tiles.attribution, maxZoom: state.map.maxZoom })
  : null;
if (basemap) mapElement.classList.add("has-basemap");

const townships = L.geoJSON(null, {
  interactive: false,
  style: { color: "#0f2a4a", weight: 2, fill: false },
}).addTo(map);
const cells = L.geoJSON(null, {
  interactive: false,
  style: { color: "#1d4e89", weight: 1, opacity: 0.9, fillColor: "#1d4e89", fillOpacity: 0.04 },
}).addTo(map);
const accuracyCircle = L.circle([0, 0], { radius: 1, color: "#2563eb", weight: 1, fillOpacity: 0.1, interactive: false });
const placeMarker = L.circleMarker([0, 0], {
  radius: 8,
  color: "#111827",
  weight: 2.5,
  fillColor: "#fbbf24",
  fillOpacity: 1,
  interactive: false,
});

api
  .regions(state.api, { levels: state.levels.township, simplify: 0.0002 })
  .then((collection) => {
    townships.addData(collection);
    if (!place && townships.getLayers().length) map.fitBounds(townships.getBounds());
    mapElement.dataset.state = "ready";
  })
  .catch((error) => {
    console.warn("townships failed", error);
    mapElement.dataset.state = "error";
  });

// Cells around the current view (the place is in the middle of it), so a tap lands on a known cell.
let cellsController = null;
async function refreshCells() {
  if (map.getZoom() < 13) {
    cells.clearLayers();
    return;
  }
  if (cellsController) cellsController.abort();
  const controller = new AbortController();
  cellsController = controller;
  const b = map.getBounds().pad(0.2);
  try {
    const collection = await api.cellsInBbox(state.api, {
      bounds: { west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() },
      zoom: map.getZoom(),
      signal: controller.signal,
    });
    if (controller.signal.aborted) return;
    cells.clearLayers();
    cells.addData(collection);
    mapElement.dataset.cells = String(cells.getLayers().length);
    highlightCell();
  } catch (error) {
    if (error.name !== "AbortError") console.warn("cells failed", error);
  }
}
map.on("moveend", refreshCells);

// --- The place and who answers there --------------------------------------------------------------
let place = null; // {lon, lat, accuracy, source: "gps" | "tap"}
let routeResult = null;
let routeController = null;
let selectedMatter = ""; // matter code, "" = none (the comprehensive team of the place)

function highlightCell() {
  const code = routeResult?.cell?.code;
  cells.eachLayer((layer) => {
    const selected = code && layer.feature.properties.code === code;
    layer.setStyle(
      selected
        ? { color: "#f59e0b", weight: 3, fillColor: "#f59e0b", fillOpacity: 0.15 }
        : cells.options.style,
    );
  });
}

function setPlace(next) {
  place = next;
  const latlng = [next.lat, next.lon];
  placeMarker.setLatLng(latlng).addTo(map);
  if (next.accuracy) accuracyCircle.setLatLng(latlng).setRadius(next.accuracy).addTo(map);
  else accuracyCircle.remove();
  if (next.source === "gps") {
    geoStatus.dataset.state = "located";
    geoStatus.textContent = fmt(t.accuracy, { m: Math.round(next.accuracy) });
    map.setView(latlng, Math.max(map.getZoom(), state.map.reportZoom));
  } else {
    geoStatus.dataset.state = "tapped";
    geoStatus.textContent = t.tapped;
  }
  if (basemap && !map.hasLayer(basemap)) basemap.addTo(map);
  mapElement.dataset.place = `${next.lon.toFixed(6)},${next.lat.toFixed(6)}`;
  updateRoute();
}

function locate() {
  if (!navigator.geolocation) {
    geoStatus.dataset.state = "unavailable";
    geoStatus.textContent = t.geoUnsupported;
    return;
  }
  geoStatus.dataset.state = "locating";
  geoStatus.textContent = t.locating;
  navigator.geolocation.getCurrentPosition(
    (position) =>
      setPlace({
        lon: position.coords.longitude,
        lat: position.coords.latitude,
        accuracy: position.coords.accuracy,
        source: "gps",
      }),
    () => {
      geoStatus.dataset.state = "unavailable";
      geoStatus.textContent = t.geoDenied;
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
  );
}
document.getElementById("locate-button").addEventListener("click", locate);
map.on("click", (event) => setPlace({ lon: event.latlng.lng, lat: event.latlng.lat, accuracy: null, source: "tap" }));

function row(label, value, key) {
  return el("div", { className: "route-row", attrs: { "data-field": key } }, [
    el("dt", { text: label }),
    el("dd", { text: value }),
  ]);
}

function renderRoute(result) {
  routeBox.replaceChildren();
  routeBox.dataset.state = result.routed ? "routed" : "triage";
  const teamName = result.team ? result.team.name : t.notInGrid;
  routeBox.append(
    el("p", { className: result.team ? "route-team" : "route-team is-triage", text: teamName, attrs: { "data-team-code": result.team?.code || "" } }),
    el("dl", { className: "route-rows" }, [
      row(t.cell, result.cell ? result.cell.name : t.none, "cell"),
      row(t.township, result.township ? result.township.name : t.none, "township"),
    ]),
  );
  if (!result.routed && result.triage_queue) {
    routeBox.append(el("p", { className: "muted", text: state.triageQueues[result.triage_queue] || result.triage_queue }));
  }
}

async function updateRoute() {
  if (!place) return;
  if (routeController) routeController.abort();
  const controller = new AbortController();
  routeController = controller;
  routeBox.dataset.state = "loading";
  routeBox.replaceChildren(el("p", { className: "muted", text: t.routing }));
  try {
    const result = await api.route(state.api, {
      lon: place.lon,
      lat: place.lat,
      matter: selectedMatter || undefined,
      signal: controller.signal,
    });
    if (controller.signal.aborted) return;
    routeResult = result;
    renderRoute(result);
    highlightCell();
  } catch (error) {
    if (error.name === "AbortError") return;
    routeResult = null;
    routeBox.dataset.state = "error";
    const message = error instanceof api.ApiError ? error.fieldMessage || t.routeFailed : t.routeOffline;
    routeBox.replaceChildren(el("p", { className: "form-error", text: message }));
  }
}

// --- Matters: search, frequent first ----------------------------------------------------------------
let matters = [];

function chooseMatter(code) {
  selectedMatter = code;
  const matter = matters.find((m) => m.code === code);
  matterChosen.textContent = matter ? `${matter.name}（${matter.code}）` : t.noMatter;
  matterChosen.dataset.code = code;
  renderMatters();
  updateRoute();
}

function matterButton(matter) {
  const code = matter ? matter.code : "";
  const selected = code === selectedMatter;
  return el(
    "button",
    {
      className: `matter-option${selected ? " is-selected" : ""}`,
      attrs: { type: "button", role: "option", "aria-selected": String(selected), "data-code": code },
    },
    matter
      ? [el("span", { className: "matter-name", text: matter.name }), el("small", { text: matter.code })]
      : [el("span", { className: "matter-name", text: t.noMatter })],
  );
}

function renderMatters() {
  const query = matterSearch.value.trim().toLowerCase();
  const matches = matters.filter(
    (m) => !query || m.name.toLowerCase().includes(query) || m.code.toLowerCase().includes(query),
  );
  const frequent = state.frequentMatters
    .map((code) => matches.find((m) => m.code === code))
    .filter(Boolean);
  const rest = matches.filter((m) => !state.frequentMatters.includes(m.code));
  const children = [];
  if (!query) children.push(matterButton(null));
  if (frequent.length) {
    children.push(el("p", { className: "matter-group", text: t.frequent }));
    children.push(...frequent.map(matterButton));
  }
  if (rest.length) {
    if (frequent.length) children.push(el("p", { className: "matter-group", text: t.allMatters }));
    children.push(...rest.map(matterButton));
  }
  if (!matches.length) children.push(el("p", { className: "muted", text: t.noMatch }));
  matterList.replaceChildren(...children);
}

matterList.addEventListener("click", (event) => {
  const button = event.target.closest(".matter-option");
  if (button) chooseMatter(button.dataset.code);
});
matterSearch.addEventListener("input", renderMatters);

// The catalogue is kept on the phone after every successful load, so a worker with no signal still
// picks a matter (the server checks the code again when the report arrives).
const MATTERS_KEY = "gridops:matters";
function storedMatters() {
  try {
    const rows = JSON.parse(localStorage.getItem(MATTERS_KEY) || "null");
    return Array.isArray(rows) ? rows : null;
  } catch {
    return null;
  }
}

api
  .activeMatters(state.api)
  .then((rows) => {
    matters = rows;
    try {
      localStorage.setItem(MATTERS_KEY, JSON.stringify(rows.map(({ code, name, domain }) => ({ code, name, domain }))));
    } catch {
      // storage full or disabled: the list still works for this visit
    }
    matterList.dataset.state = "ready";
    renderMatters();
  })
  .catch((error) => {
    const kept = storedMatters();
    if (kept) {
      matters = kept;
      matterList.dataset.state = "stored";
      renderMatters();
      return;
    }
    console.warn("matters failed", error);
    matterList.replaceChildren(el("p", { className: "form-error", text: t.mattersFailed }));
  });

// --- Photos -------------------------------------------------------------------------------------------
let photos = []; // [{file, url}]

function renderPhotos() {
  photoPreviews.replaceChildren(
    ...photos.map((photo, index) =>
      el("li", { className: "photo-preview" }, [
        el("img", { attrs: { src: photo.url, alt: photo.file.name } }),
        el("button", {
          className: "photo-remove",
          text: "×",
          attrs: { type: "button", "data-index": String(index), "aria-label": t.removePhoto },
        }),
      ]),
    ),
  );
}

photoInput.addEventListener("change", () => {
  for (const file of photoInput.files) {
    if (photos.length >= state.photoMax) {
      showFormError(fmt(t.tooManyPhotos, { n: state.photoMax }));
      break;
    }
    photos.push({ file, url: URL.createObjectURL(file) });
  }
  photoInput.value = "";
  renderPhotos();
});
photoPreviews.addEventListener("click", (event) => {
  const button = event.target.closest(".photo-remove");
  if (!button) return;
  const [removed] = photos.splice(Number(button.dataset.index), 1);
  URL.revokeObjectURL(removed.url);
  renderPhotos();
});

// --- Submit through the outbox ------------------------------------------------------------------------
function showFormError(message) {
  formError.textContent = message || "";
  formError.hidden = !message;
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return "";
}

// The freshest CSRF token is the cookie (a sign-in since this page was saved offline rotates it);
// the token in the page state is the fallback (CSRF_USE_SESSIONS, or no cookie yet).
function csrfToken() {
  return (state.csrfCookieName && readCookie(state.csrfCookieName)) || state.csrfToken;
}

// After the server refused our CSRF token: GET the page again. Its answer sets a fresh cookie and
// carries a fresh token in its state. False when the session is gone (redirected to sign in).
async function refreshCsrfToken() {
  const response = await fetch(state.pageUrl, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok || response.redirected) return false;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = JSON.parse(page.getElementById("report-state")?.textContent || "null");
  if (fresh?.csrfToken) state.csrfToken = fresh.csrfToken;
  return true;
}

const outbox = new Outbox({ url: state.api.reports, csrfToken, refreshCsrfToken });
let outboxReady = null;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showFormError("");
  if (!place) {
    showFormError(t.needPlace);
    return;
  }
  const matter = matters.find((m) => m.code === selectedMatter);
  const entry = {
    fields: {
      lon: place.lon.toFixed(6),
      lat: place.lat.toFixed(6),
      accuracy: place.accuracy ? Math.round(place.accuracy) : null,
      matter: selectedMatter,
      description: descriptionInput.value.trim(),
    },
    photos: photos.map((p) => p.file),
    summary: { matter: matter ? matter.name : t.noMatter, description: descriptionInput.value.trim().slice(0, 60) },
  };
  // The form is cleared at once, not after the (asynchronous) save: whatever the worker starts
  // typing for the next report meanwhile is theirs, and is never wiped by this one finishing.
  const taken = photos;
  const typed = descriptionInput.value;
  photos = [];
  renderPhotos();
  descriptionInput.value = "";
  try {
    await outboxReady;
    await outbox.add(entry);
  } catch (error) {
    console.warn("outbox failed", error);
    photos = taken;
    renderPhotos();
    if (!descriptionInput.value) descriptionInput.value = typed;
    showFormError(t.storageFailed);
    return;
  }
  for (const photo of taken) URL.revokeObjectURL(photo.url);
  sendResult.hidden = false;
  sendResult.dataset.state = "queued";
  sendResult.replaceChildren(el("p", { text: t.queuedOne }));
});

function renderOutbox(entries) {
  for (const badge of document.querySelectorAll("#outbox-count, [data-outbox-count]")) {
    badge.textContent = String(entries.length);
    badge.dataset.count = String(entries.length);
  }
  outboxEmpty.hidden = entries.length > 0;
  const stateLabel = { queued: t.stateQueued, sending: t.stateSending, failed: t.stateFailed };
  outboxList.replaceChildren(
    ...entries.map((entry) => {
      const item = el("li", {
        className: `outbox-item is-${entry.state}`,
        attrs: { "data-client-uuid": entry.clientUuid, "data-state": entry.state },
      });
      const head = el("div", { className: "outbox-head" }, [
        el("span", { className: `state-badge state-${entry.state}`, text: stateLabel[entry.state] || entry.state }),
        el("span", { className: "outbox-matter", text: entry.summary?.matter || "" }),
        el("time", { className: "muted", text: formatTime(entry.createdAt) }),
      ]);
      item.append(head);
      const detail = [entry.summary?.description, entry.photos.length ? fmt(t.photosCount, { n: entry.photos.length }) : ""]
        .filter(Boolean)
        .join(" · ");
      if (detail) item.append(el("p", { className: "outbox-detail", text: detail }));
      if (entry.state === "failed") {
        item.append(el("p", { className: "form-error outbox-error", text: entry.error?.message || "" }));
        item.append(
          el("div", { className: "outbox-actions" }, [
            el("button", { className: "button-secondary", text: t.retry, attrs: { type: "button", "data-action": "retry" } }),
            el("button", { className: "button-danger", text: t.delete, attrs: { type: "button", "data-action": "delete" } }),
          ]),
        );
      } else if (entry.state === "queued" && outbox.nextRetryAt) {
        const seconds = Math.max(1, Math.round((outbox.nextRetryAt - Date.now()) / 1000));
        item.append(el("p", { className: "muted", text: fmt(t.retryIn, { s: seconds }) }));
      }
      return item;
    }),
  );
}

outboxList.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const uuid = button.closest("[data-client-uuid]").dataset.clientUuid;
  if (button.dataset.action === "delete") outbox.remove(uuid);
  else outbox.requeue(uuid);
});

let outboxEntries = [];
outbox.addEventListener("change", (event) => {
  outboxEntries = event.detail.entries;
  renderOutbox(outboxEntries);
});
// The "retry in N s" countdown of waiting reports.
setInterval(() => {
  if (outbox.nextRetryAt && outboxEntries.some((entry) => entry.state === "queued")) renderOutbox(outboxEntries);
}, 1000);
outbox.addEventListener("sent", (event) => {
  const report = event.detail.report;
  sendResult.hidden = false;
  sendResult.dataset.state = "sent";
  sendResult.dataset.reportNumber = report?.number || "";
  const children = [];
  if (report?.team) {
    children.push(el("p", { className: "sent-title", text: fmt(t.sentTo, { team: report.team.name }) }));
  } else {
    children.push(el("p", { className: "sent-title is-triage", text: t.sentTriage }));
    if (report?.triage_queue) {
      children.push(el("p", { className: "muted", text: state.triageQueues[report.triage_queue] || report.triage_queue }));
    }
  }
  const reason = report?.reasons?.[0];
  if (reason) children.push(el("p", { className: "sent-reason", text: reason.text }));
  if (report?.number) children.push(el("p", { className: "muted", text: report.number }));
  sendResult.replaceChildren(...children);
  if (report) upsertMine(report);
});

outboxReady = outbox.open().then(() => outbox.flush());

// --- The page itself offline ----------------------------------------------------------------------
// The service worker (report_sw.js) keeps a copy of this page and its files, so it opens with no
// network. Plain http other than localhost has no service workers: the page works as before.
if ("serviceWorker" in navigator && state.serviceWorker) {
  const offlineReady = document.getElementById("offline-ready");
  navigator.serviceWorker
    .register(state.serviceWorker, { scope: state.pageUrl })
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      offlineReady.hidden = false;
      offlineReady.dataset.state = "ready";
    })
    .catch((error) => console.warn("service worker failed", error));
}

// --- My reports, live -------------------------------------------------------------------------------
const mine = new Map(); // id → report row (REST shape, or a live payload)
// A handled report waits for its verification (核查); by default the reporting worker verifies it.
const AWAITING_VERIFICATION = "handled";

function awaitsVerification(report) {
  return report.status === AWAITING_VERIFICATION;
}

// Reports waiting for this worker's verification first, then the newest.
function mineOrder(a, b) {
  return (
    Number(awaitsVerification(b)) - Number(awaitsVerification(a)) ||
    (b.received_at || "").localeCompare(a.received_at || "") ||
    b.id - a.id
  );
}

function renderVerifyCount(n) {
  verifyLink.hidden = n === 0;
  verifyLink.dataset.count = String(n);
  for (const badge of document.querySelectorAll("#verify-count, [data-verify-count]")) {
    badge.textContent = String(n);
    badge.dataset.count = String(n);
    if (badge.hasAttribute("data-verify-count")) badge.hidden = n === 0;
  }
}

function mineRow(report) {
  const pending = awaitsVerification(report);
  const meta = [report.number, report.team?.name, formatTime(report.received_at)];
  if (report.rework_count) meta.push(fmt(t.reworkShort, { n: report.rework_count }));
  return el(
    "li",
    {
      className: `my-report${pending ? " is-verify" : ""}`,
      attrs: { "data-report-id": String(report.id), "data-status": report.status, "data-verify": pending ? "pending" : "" },
    },
    [
      el("div", { className: "my-report-head" }, [
        el("span", { className: `status-badge status-${report.status}`, text: state.statuses[report.status] || report.status }),
        pending ? el("span", { className: "verify-badge", text: t.verifyBadge }) : null,
        el("span", { className: "my-report-matter", text: report.matter ? report.matter.name : t.noMatter }),
      ]),
      el("p", { className: "my-report-meta muted", text: meta.filter(Boolean).join(" · ") }),
      report.description ? el("p", { className: "my-report-text", text: report.description }) : null,
      pending
        ? el("button", {
            className: "button-primary verify-open",
            text: t.verifyOpen,
            attrs: { type: "button", "data-report-id": String(report.id) },
          })
        : null,
    ],
  );
}

function renderMine() {
  const rows = [...mine.values()].sort(mineOrder);
  myReports.dataset.state = "ready";
  renderVerifyCount(rows.filter(awaitsVerification).length);
  if (!rows.length) {
    myReports.replaceChildren(el("li", { className: "muted", text: t.myEmpty }));
    return;
  }
  myReports.replaceChildren(...rows.slice(0, 50).map(mineRow));
}

function upsertMine(report) {
  const previous = mine.get(report.id) || {};
  mine.set(report.id, { ...previous, ...report });
  renderMine();
}

const verifier = new Verifier({
  root: document.getElementById("verify-card"),
  state,
  csrfToken,
  formatTime,
  onUpdated: upsertMine,
});
myReports.addEventListener("click", (event) => {
  const button = event.target.closest(".verify-open");
  if (button) verifier.open(Number(button.dataset.reportId));
});

async function loadMine() {
  try {
    const page = await api.getJSON(state.api.reports, { params: { mine: "true", page_size: 50 } });
    mine.clear();
    for (const report of page.results || []) mine.set(report.id, report);
    renderMine();
  } catch (error) {
    console.warn("my reports failed", error);
    if (!mine.size) {
      myReports.dataset.state = "error";
      myReports.replaceChildren(el("li", { className: "form-error", text: t.myFailed }));
    }
  }
}

function applyLive(message) {
  switch (message.type) {
    case "report.created":
    case "report.updated":
    case "case.updated": {
      const data = message.data;
      // Mine when the event says so; a report already listed here is mine anyway.
      if (data.reporter_id === state.user.id || mine.has(data.id)) upsertMine(data);
      // Someone else's step on the report being verified here (a dispatcher verified it first…).
      if (message.type === "case.updated") verifier.caseUpdated(data);
      return;
    }
    default:
      return;
  }
}

loadMine();
if (state.live.stream) {
  const live = new LiveConnection({
    path: state.live.path,
    stream: state.live.stream,
    heartbeatSeconds: state.live.heartbeatSeconds,
  });
  live.addEventListener("status", (event) => {
    const liveState = event.detail.state;
    liveStatus.dataset.state = liveState;
    liveStatus.textContent = liveState === "live" ? t.liveOn : liveState === "down" ? t.liveDown : "";
  });
  live.addEventListener("message", (event) => applyLive(event.detail.message));
  live.addEventListener("reload", loadMine);
  live.start();
} else {
  liveStatus.dataset.state = "polling";
  liveStatus.textContent = t.livePolling;
  setInterval(loadMine, state.live.pollSeconds * 1000);
}

document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));
locate();
