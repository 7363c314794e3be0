// The officer's phone page: my team's new dispatches arrive live; I accept, navigate, handle with
// after-photos and hand the case over for verification. State comes from the json_script block
// "field-state" (officer, team, the cases for the first paint, API addresses, strings).
// Modules: fieldmodel.js (the lists, no DOM), fieldcard.js (one case's sheet), live.js (the link).

import * as api from "./api.js";
import { el, fill } from "./dom.js";
import { caseSheet } from "./fieldcard.js";
import { FieldCases, SECTIONS, clock, distanceMetres, distanceText } from "./fieldmodel.js";
import { LiveConnection } from "./live.js";

const state = JSON.parse(document.getElementById("field-state").textContent);
const t = state.i18n;

const liveStatus = document.getElementById("live-status");
const waitingCount = document.getElementById("waiting-count");
const banner = document.getElementById("link-banner");
const bannerText = document.getElementById("link-banner-text");
const geoLine = document.getElementById("geo-line");
const toast = document.getElementById("toast");
const sheetLink = document.getElementById("sheet-link");

const cases = new FieldCases({ userId: state.user.id, teamCode: state.team.code });
cases.reset(state.cases);

let fix = null; // {lon, lat, accuracy} from the phone, or null
let tab = "waiting";

// --- lists --------------------------------------------------------------------------------------
function placeLine(row) {
  const area = [row.township?.name, row.cell?.name].filter(Boolean).join(" · ");
  return [row.address, area].filter(Boolean).join(" ｜ ");
}

function caseItem(row, section) {
  const c = clock(row, t);
  const metres = fix && row.point ? distanceMetres([fix.lon, fix.lat], row.point) : null;
  const unit = section === "waiting" && row.assigned_unit ? row.assigned_unit : null;
  const classes = ["case-item", unit ? "is-unit" : "", c.overdue ? "is-overdue" : "", row.priority ? "is-urgent" : ""];
  const open = el("button", { className: "case-open", attrs: { type: "button" } }, [
    el("span", { className: "case-line case-top" }, [
      el("span", { className: "case-number", text: row.number }),
      row.priority ? el("span", { className: "badge-urgent", text: t.urgent }) : null,
      el("span", {
        className: `case-clock${c.overdue ? " is-overdue" : c.soon ? " is-soon" : ""}`,
        text: c.text,
        attrs: { "data-overdue": String(c.overdue) },
      }),
    ]),
    el("strong", { className: "case-line case-matter", text: row.matter ? row.matter.name : t.noMatter }),
    el("span", { className: "case-line case-place", text: placeLine(row) }),
    el("span", { className: "case-line case-bottom" }, [
      el("span", { className: "case-distance", text: distanceText(metres, t), attrs: { "data-metres": metres === null ? "" : String(Math.round(metres)) } }),
      unit ? el("span", { className: "unit-badge", text: fill(t.toUnit, { unit: unit.name }) }) : null,
      section !== "waiting" ? el("span", { className: `status-badge status-${row.status}`, text: t.statusLabels[row.status] || row.status }) : null,
    ]),
  ]);
  open.addEventListener("click", () => openCase(row.id));
  return el(
    "li",
    {
      className: classes.filter(Boolean).join(" "),
      attrs: { "data-report-id": String(row.id), "data-status": row.status, "data-section": section },
    },
    [open],
  );
}

function renderLists() {
  const now = Date.now();
  for (const section of SECTIONS) {
    const list = document.querySelector(`.case-list[data-list="${section}"]`);
    const rows = cases.list(section, now);
    list.replaceChildren(
      ...(rows.length ? rows.map((row) => caseItem(row, section)) : [el("li", { className: "case-empty muted", text: t.empty[section] })]),
    );
    list.dataset.count = String(rows.length);
    for (const badge of document.querySelectorAll(`[data-count-of="${section}"]`)) {
      badge.textContent = String(rows.length);
      badge.dataset.count = String(rows.length);
    }
  }
  const waiting = cases.count("waiting");
  waitingCount.textContent = String(waiting);
  waitingCount.dataset.count = String(waiting);
  waitingCount.parentElement.setAttribute("aria-label", fill(t.waitingCount, { n: waiting }));
}

function selectTab(name) {
  tab = name;
  for (const button of document.querySelectorAll(".field-tab")) {
    const selected = button.dataset.tab === name;
    button.setAttribute("aria-selected", String(selected));
    document.getElementById(button.getAttribute("aria-controls")).hidden = !selected;
  }
}

for (const button of document.querySelectorAll(".field-tab")) {
  button.addEventListener("click", () => selectTab(button.dataset.tab));
}
for (const link of document.querySelectorAll("[data-tab-link]")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    if (sheet.isOpen()) closeCase();
    selectTab(link.dataset.tabLink);
  });
}

// --- the case sheet, with the browser's history (the phone's back button closes it) ----------------
function here() {
  return new Promise((resolve) => {
    const last = fix ? { lon: fix.lon, lat: fix.lat } : null;
    if (!navigator.geolocation) return resolve(last);
    navigator.geolocation.getCurrentPosition(
      (position) => resolve({ lon: position.coords.longitude, lat: position.coords.latitude }),
      () => resolve(last),
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 30_000 },
    );
  });
}

// A detail answer as a list row: the handler is known by username there, by id in the lists.
function rowFromDetail(detail) {
  const { case: info, timeline: _timeline, photos: _photos, ...row } = detail;
  const handler = info?.handler;
  row.handler_id = handler ? (handler.username === state.user.username ? state.user.id : -1) : null;
  row.assigned_unit = info?.assigned_unit ?? null;
  row.extension_pending = Boolean(info?.extension_request);
  return row;
}

const sheet = caseSheet(document.getElementById("case-sheet"), {
  state,
  t,
  getFix: () => fix,
  locate: here,
  onChanged(detail) {
    const change = cases.apply(rowFromDetail(detail));
    renderLists();
    if (change.after && change.after !== tab) selectTab(change.after);
  },
});

function openCase(id) {
  if (history.state?.caseId !== id) history.pushState({ caseId: id }, "", `#case-${id}`);
  sheet.open(id);
}

function closeCase() {
  if (history.state?.caseId) history.back();
  else {
    history.replaceState(null, "", window.location.pathname + window.location.search);
    sheet.close();
  }
}

function route() {
  const match = window.location.hash.match(/^#case-(\d+)$/);
  if (match) sheet.open(Number(match[1]));
  else if (sheet.isOpen()) sheet.close();
}

document.getElementById("sheet-back").addEventListener("click", closeCase);
window.addEventListener("popstate", route);

// --- telling the officer --------------------------------------------------------------------------
let toastTimer = null;
function notify(text, id, { vibrate = false } = {}) {
  toast.replaceChildren(el("button", { className: "toast-button", text, attrs: { type: "button", "data-report-id": String(id) } }));
  toast.firstChild.addEventListener("click", () => {
    toast.hidden = true;
    openCase(id);
  });
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    toast.hidden = true;
  }, 8000);
  // Chromium refuses (and says so in the console) to vibrate before the person has touched the page.
  const activated = !navigator.userActivation || navigator.userActivation.hasBeenActive;
  if (vibrate && typeof navigator.vibrate === "function" && activated) navigator.vibrate([200, 100, 200]);
}

// --- live ------------------------------------------------------------------------------------------
// A row that arrived by event lacks the address and the reasons: read them once.
async function fillIn(id) {
  try {
    const detail = await api.report(state.api, id);
    if (!cases.get(id)) return;
    cases.apply({ id, address: detail.address, description: detail.description, reasons: detail.reasons });
    renderLists();
  } catch (error) {
    console.warn("case detail failed", error);
  }
}

function applyLive(message) {
  switch (message.type) {
    case "report.created":
    case "report.updated":
    case "case.updated": {
      const change = cases.apply(message.data);
      if (!change.before && !change.after) return; // not mine, never was
      renderLists();
      const row = change.row;
      const matter = row.matter ? row.matter.name : t.noMatter;
      if (change.after === "waiting" && change.before !== "waiting") {
        notify(fill(t.newDispatch, { number: row.number, matter }), row.id, { vibrate: true });
      } else if (change.before === "toVerify" && change.after === "inHand") {
        notify(fill(t.rework, { number: row.number }), row.id, { vibrate: true });
      } else if (change.before === "toVerify" && !change.after && row.status === "verified") {
        notify(fill(t.verified, { number: row.number }), row.id);
      }
      if (change.after && !change.known) fillIn(row.id);
      sheet.refreshIf(row.id);
      return;
    }
    default:
      return;
  }
}

async function reload() {
  try {
    const answer = await api.getJSON(state.casesUrl);
    cases.reset(answer.cases || []);
    renderLists();
    if (liveStatus.dataset.state === "live") showBanner(null);
  } catch (error) {
    console.warn("cases failed", error);
    showBanner(t.loadFailed);
  }
}

function showBanner(text) {
  // The case sheet covers the lists: it says so in its own bar too.
  sheetLink.hidden = !text;
  sheetLink.textContent = text ? t.live.down : "";
  banner.hidden = !text;
  banner.dataset.state = text ? "down" : "ok";
  bannerText.textContent = text || "";
}

let pollTimer = null;
function poll() {
  if (!pollTimer) pollTimer = setInterval(reload, state.live.pollSeconds * 1000);
}

let broken = false;
function setLink(linkState) {
  liveStatus.dataset.state = linkState;
  liveStatus.textContent = t.live[linkState] || linkState;
  if (linkState === "down") broken = true;
  if (linkState === "live") {
    if (broken) sheet.refreshIf(sheet.currentId());
    broken = false;
    showBanner(null);
  } else if (linkState === "denied") {
    showBanner(t.linkDenied);
    poll();
  } else if (broken) {
    showBanner(t.linkDown);
  }
}

document.getElementById("link-refresh").addEventListener("click", reload);

if (state.live.stream) {
  const live = new LiveConnection({
    path: state.live.path,
    stream: state.live.stream,
    heartbeatSeconds: state.live.heartbeatSeconds,
  });
  live.addEventListener("status", (event) => setLink(event.detail.state));
  live.addEventListener("message", (event) => applyLive(event.detail.message));
  live.addEventListener("reload", reload);
  live.start();
} else {
  setLink("polling");
  poll();
}

// --- where I am (distances; the page works without) -------------------------------------------------
let lastDrawnFix = null;
function located(position) {
  fix = { lon: position.coords.longitude, lat: position.coords.latitude, accuracy: position.coords.accuracy };
  geoLine.dataset.state = "located";
  geoLine.textContent = fill(t.located, { m: Math.round(fix.accuracy || 0) });
  // Redraw the lists when the phone has moved enough to change a distance shown.
  const moved = lastDrawnFix ? distanceMetres([lastDrawnFix.lon, lastDrawnFix.lat], [fix.lon, fix.lat]) : Infinity;
  if (moved > 25) {
    lastDrawnFix = fix;
    renderLists();
  }
  sheet.setFix();
}

function unlocated() {
  if (fix) return; // keep the last position
  geoLine.dataset.state = "unavailable";
  geoLine.textContent = t.geoUnavailable;
}

if (navigator.geolocation) {
  navigator.geolocation.watchPosition(located, unlocated, { enableHighAccuracy: true, maximumAge: 30_000, timeout: 20_000 });
} else {
  unlocated();
}

// The deadlines move on: redraw the clocks every half minute.
setInterval(() => {
  renderLists();
  sheet.tick();
}, 30_000);

renderLists();
route();
