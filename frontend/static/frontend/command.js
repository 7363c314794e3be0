// Command centre (/command/): the dispatchers' wall map. Layers with a legend and toggles, live
// reports, alerts and patrol units, the case queue beside the map, the report detail with the
// dispatcher's actions, and today's figures in the header.
// State comes from the json_script block "command-state". Leaflet (and markercluster) is global.
/* global L */

import * as api from "./api.js";
import { reportDetail } from "./detail.js";
import { el, fill, timeFormatter } from "./dom.js";
import { countyMap, fillDomainSelect, loadCountyLayers } from "./countymap.js";
import { cameraLayer, cellLayer } from "./layers.js";
import { LiveConnection } from "./live.js";
import { STATUS_COLOURS, liveLayer } from "./livelayer.js";
import { caseQueue } from "./queue.js";

const state = JSON.parse(document.getElementById("command-state").textContent);
const t = state.i18n;
const language = document.documentElement.lang || "zh-hans";
const mapElement = document.getElementById("map");
const statusElement = document.getElementById("map-status");
const hintElement = document.getElementById("cell-hint");
const domainSelect = document.getElementById("zone-domain");
const toasts = document.getElementById("toasts");

function setData(key, value) {
  mapElement.dataset[key] = String(value);
}

function showStatus(message) {
  statusElement.textContent = message || "";
  statusElement.hidden = !message;
}

// --- Header: clock, figures, live indicator ---------------------------------------------------
const clockElement = document.getElementById("clock");
const clockFormat = timeFormatter(language, state.timeZone, { date: true, seconds: true });
function tickClock() {
  const now = new Date();
  clockElement.textContent = clockFormat(now);
  clockElement.setAttribute("datetime", now.toISOString());
}
tickClock();
setInterval(tickClock, 1000);

function showFigures(summary) {
  for (const [key, value] of Object.entries(summary)) {
    const node = document.querySelector(`[data-figure="${key}"]`);
    if (node) node.textContent = String(value);
  }
  const alarm = document.querySelector(".figure-alarm");
  if (alarm) alarm.dataset.alarm = summary.overdue > 0 ? "on" : "off";
}

// The figures are counted by the server (the whole county, not what this page holds); after live
// events they are fetched again, at most every 2 s, and every 30 s anyway (deadlines pass).
let figuresTimer = null;
let figuresInflight = false;
async function refreshFigures() {
  figuresTimer = null;
  if (figuresInflight) return;
  figuresInflight = true;
  try {
    showFigures(await api.summary(state.api));
  } catch (error) {
    console.warn("summary failed", error);
  } finally {
    figuresInflight = false;
  }
}
function figuresSoon() {
  if (!figuresTimer) figuresTimer = setTimeout(refreshFigures, 2000);
}
setInterval(refreshFigures, 30_000);

const indicator = document.getElementById("live-indicator");
function showLink({ state: linkState, retryIn }) {
  indicator.dataset.state = linkState;
  const text = t.live[linkState] || linkState;
  indicator.querySelector(".live-text").textContent =
    linkState === "down" && retryIn !== undefined ? `${text} · ${fill(t.liveDown, { s: retryIn })}` : text;
  document.body.dataset.live = linkState;
}

function toast(kind, title, text, onClick) {
  const item = el("button", { className: `toast toast-${kind}`, attrs: { type: "button" } }, [
    el("strong", { text: title }),
    el("span", { text }),
  ]);
  if (onClick) item.addEventListener("click", onClick);
  toasts.prepend(item);
  item.title = text;
  while (toasts.children.length > 3) toasts.lastElementChild.remove();
  setTimeout(() => item.remove(), 8000);
}

// --- Map --------------------------------------------------------------------------------------
const { map, baseLayers, showBasemap } = countyMap(mapElement, state, t);

const cells = cellLayer(map, state.api, {
  minZoom: state.map.cellMinZoom,
  tiles: state.map.cellTiles,
  onChange: ({ state: cellState, count, tiles: tilesShown }) => {
    setData("cellTiles", tilesShown ? "on" : "off");
    hintElement.hidden = tilesShown || cellState !== "zoom" || !map.hasLayer(cells);
    setData("cells", count);
    setData("cellsState", cellState);
  },
});

// --- Legend -----------------------------------------------------------------------------------
function renderLegend(teamRows, colours, zonedTeams) {
  document.getElementById("status-legend").replaceChildren(
    ...["triage", "new", "escalated", "registered", "handling", "handled", "suspended"].map((status) => {
      const swatch = el("span", { className: "swatch swatch-dot" });
      swatch.style.setProperty("--swatch", STATUS_COLOURS[status]);
      return el("li", { attrs: { "data-status": status } }, [swatch, el("span", { text: t.statusLabels[status] })]);
    }),
    el("li", {}, [el("span", { className: "swatch swatch-unit" }), el("span", { text: t.layerUnits })]),
    el("li", {}, [el("span", { className: "swatch swatch-alert", text: "!" }), el("span", { text: t.layerAlerts })]),
    el("li", {}, [el("span", { className: "swatch swatch-camera" }), el("span", { text: t.layerCameras })]),
  );
  document.getElementById("team-legend").replaceChildren(
    ...teamRows
      .filter((team) => zonedTeams.has(team.code))
      .map((team) => {
        const swatch = el("span", { className: "swatch" });
        swatch.style.setProperty("--swatch", colours.get(team.code));
        return el("li", { attrs: { "data-team-code": team.code } }, [swatch, el("span", { text: team.name })]);
      }),
  );
}

// --- Queue, detail, live ----------------------------------------------------------------------
let live = null;
const detail = reportDetail(document.getElementById("detail"), document.getElementById("detail-body"), {
  state,
  t,
  onClose: () => queue.select(null),
  onChanged: (report) => {
    // The action's answer is the freshest state; the live event will say the same again.
    queue.upsert(report);
    live?.loadReports([report]);
    figuresSoon();
  },
});
document.getElementById("detail-close").addEventListener("click", () => detail.close());
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") detail.close();
});

function select(id) {
  queue.select(id);
  detail.open(id);
  // The detail slides over the right of the map: keep the marker left of it.
  const covered = document.getElementById("detail").offsetWidth || 0;
  live?.focusReport(id, { paddingTopLeft: [160, 60], paddingBottomRight: [covered + 40, 40] });
}

const queue = caseQueue(document.getElementById("queue"), {
  t,
  openStatuses: state.openStatuses,
  countElement: document.getElementById("queue-count"),
  onSelect: select,
});
setInterval(() => queue.tick(), 30_000);

function fillFilters() {
  const form = document.getElementById("queue-filters");
  const options = {
    township: state.townships.map((r) => [r.code, r.name]),
    team: state.teams.map((r) => [r.code, r.name]),
    source: Object.entries(t.sourceLabels),
    domain: Object.entries(state.domains),
  };
  for (const [name, pairs] of Object.entries(options)) {
    form.elements[name].replaceChildren(
      el("option", { text: t.all, attrs: { value: "" } }),
      ...pairs.map(([value, label]) => el("option", { text: label, attrs: { value } })),
    );
  }
  form.addEventListener("change", () => {
    queue.setFilters(Object.fromEntries(new FormData(form).entries()));
  });
}
fillFilters();

const alertList = document.getElementById("alert-list");
function renderAlerts() {
  const open = live
    .alertRows()
    .filter((a) => a.status === "open")
    .sort((a, b) => Date.parse(b.raised_at) - Date.parse(a.raised_at));
  if (!open.length) {
    alertList.replaceChildren(el("li", { className: "muted", text: t.noAlerts }));
    alertList.dataset.count = "0";
    return;
  }
  const hhmm = timeFormatter(language, state.timeZone, { date: false, seconds: false });
  alertList.replaceChildren(
    ...open.slice(0, 20).map((a) =>
      el("li", { className: `alert-row alert-${a.kind}`, attrs: { "data-alert-id": String(a.id) } }, [
        el("time", { text: hhmm(a.raised_at) }),
        el("span", { className: "alert-text", text: a.message }),
        el("button", {
          className: "alert-ack",
          text: t.acknowledgeAlert,
          attrs: { type: "button", "data-action": "acknowledge-alert" },
        }),
      ]),
    ),
  );
  alertList.dataset.count = String(open.length);
}

// An alert row: its text shows the place on the map; 知悉 acknowledges it (it leaves the list).
alertList.addEventListener("click", async (event) => {
  const row = event.target.closest("[data-alert-id]");
  if (!row || !live) return;
  const alert = live.alertRows().find((a) => a.id === Number(row.dataset.alertId));
  if (!alert) return;
  if (event.target.closest("[data-action='acknowledge-alert']")) {
    event.target.disabled = true;
    try {
      live.loadAlerts([await api.alertAcknowledge(state.api, alert.id, { csrfToken: state.csrfToken })]);
      renderAlerts();
      figuresSoon();
    } catch (error) {
      event.target.disabled = false;
      toast("alert", t.actionFailed, error instanceof api.ApiError ? error.fieldMessage : "");
    }
  } else if (Array.isArray(alert.point)) {
    map.setView([alert.point[1], alert.point[0]], Math.max(map.getZoom(), 15));
  }
});

function startLive(colours, layersControl) {
  live = liveLayer(map, {
    colours,
    t,
    cluster: typeof L.markerClusterGroup === "function",
    onReport: (row) => select(row.id),
    onAlert: (row, { fresh }) => {
      renderAlerts();
      if (fresh) toast("alert", t.newAlert, row.message);
    },
  });
  live.alertGroup.addTo(map);
  live.reportGroup.addTo(map);
  live.unitGroup.addTo(map);
  layersControl.addOverlay(live.reportGroup, t.layerReports);
  layersControl.addOverlay(live.unitGroup, t.layerUnits);
  layersControl.addOverlay(live.alertGroup, t.layerAlerts);

  const loadSnapshot = async () => {
    const [openRows, todayRows, unitRows, alertRows] = await Promise.all([
      api.openReports(state.api),
      api.recentReports(state.api, { since: state.live.todayStart }),
      api.units(state.api),
      api.openAlerts(state.api),
    ]);
    // Events that arrived meanwhile are newer than the snapshot: they are applied again on top.
    const rows = new Map([...todayRows, ...openRows].map((row) => [row.id, row]));
    live.loadReports([...rows.values()]);
    live.loadUnits(unitRows);
    live.loadAlerts(alertRows);
    for (const row of pendingEvents.splice(0)) live.apply(row);
    queue.load(live.reportRows());
    renderAlerts();
    setData("liveReports", live.reportRows().length);
    snapshotLoaded = true;
  };

  let snapshotLoaded = false;
  const pendingEvents = [];
  const connection = new LiveConnection({
    path: state.live.path,
    stream: state.live.stream,
    heartbeatSeconds: state.live.heartbeatSeconds,
  });
  connection.addEventListener("status", (event) => {
    showLink(event.detail);
    if (event.detail.state === "live") figuresSoon();
  });
  connection.addEventListener("message", (event) => {
    const { message } = event.detail;
    if (!snapshotLoaded && message.seq !== null) pendingEvents.push(message);
    live.apply(message);
    if (["report.created", "report.updated", "case.updated"].includes(message.type)) {
      const row = live.report(message.data.id);
      if (row) queue.upsert(row, { fresh: message.type === "report.created" });
      detail.refreshIf(message.data.id);
      if (message.type === "report.created") {
        const d = message.data;
        // Announced at the frame that paints it (tests and bench/ui.py measure event → screen).
        requestAnimationFrame(() =>
          document.dispatchEvent(new CustomEvent("gridops:report-drawn", { detail: { id: d.id, at: Date.now() } })),
        );
        toast("report", t.newReport, `${d.number} ${d.matter ? d.matter.name : t.noMatter} → ${d.team ? d.team.name : t.triage}`, () =>
          select(d.id),
        );
      }
      figuresSoon();
    } else if (message.type.startsWith("alert.")) {
      figuresSoon();
    }
    setData("liveReports", live.reportRows().length);
    setData("liveSeq", connection.last ?? "");
  });
  connection.addEventListener("reload", () => {
    snapshotLoaded = false;
    live.clear();
    queue.clear();
    loadSnapshot().catch((error) => console.warn("live snapshot failed", error));
  });
  // Listen first, then load: nothing that happens in between is missed.
  connection.start();
  loadSnapshot().catch((error) => console.warn("live snapshot failed", error));
  window.addEventListener("pagehide", () => connection.stop());
}

async function load() {
  showStatus(t.loading);
  const [layers, cameraRows] = await Promise.all([
    loadCountyLayers(map, state),
    api.cameras(state.api).catch(() => ({ type: "FeatureCollection", features: [] })),
  ]);
  const { townships, zones, teamRows, colours, domains, zoneGroup } = layers;
  const cameras = cameraLayer(cameraRows);

  fillDomainSelect(domainSelect, domains, state, t);
  const showDomain = () => {
    setData("zones", zoneGroup.showDomain(domainSelect.value));
    const shown = new Set(
      zones.features
        .filter((f) => !domainSelect.value || f.properties.domain === domainSelect.value)
        .map((f) => api.zoneTeamCode(f.properties)),
    );
    renderLegend(teamRows, colours, shown);
  };
  domainSelect.addEventListener("change", showDomain);
  showDomain();

  layers.frame(16);
  showBasemap();

  cameras.markers.addTo(map);
  const layersControl = layers.show(cells, baseLayers, t, {
    extra: { [t.layerCameras]: cameras.markers, [t.layerFov]: cameras.views },
    position: "topleft",
  });
  setData("townships", townships.features.length);
  setData("cameras", cameras.count);
  cells.refresh();
  showStatus("");
  setData("state", "ready");
  if (state.live.stream) startLive(colours, layersControl);
  else showLink({ state: "denied" });
  document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));
}

load().catch((error) => {
  console.warn("command map failed to load", error);
  showStatus(t.loadFailed);
  setData("state", "error");
});
