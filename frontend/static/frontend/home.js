// Home page: the county on a map, layers with a legend, and "who is responsible here?" on click.
// State comes from the json_script block "home-state" (API addresses, view, basemap, strings).
/* global L */

import * as api from "./api.js";
import { el } from "./dom.js";
import { LiveConnection } from "./live.js";
import { liveLayer } from "./livelayer.js";
import { countyMap, fillDomainSelect, loadCountyLayers } from "./countymap.js";
import { cellLayer } from "./layers.js";

const state = JSON.parse(document.getElementById("home-state").textContent);
const t = state.i18n;
const mapElement = document.getElementById("map");
const statusElement = document.getElementById("map-status");
const hintElement = document.getElementById("cell-hint");
const resultElement = document.getElementById("route-result");
const matterSelect = document.getElementById("matter-select");
const domainSelect = document.getElementById("zone-domain");
const legendElement = document.getElementById("team-legend");
const language = document.documentElement.lang || "zh-hans";

function showStatus(message) {
  statusElement.textContent = message || "";
  statusElement.hidden = !message;
}

function setData(key, value) {
  mapElement.dataset[key] = String(value);
}

// --- Map and basemap --------------------------------------------------------------------------
const { map, baseLayers, showBasemap } = countyMap(mapElement, state, t);

const cells = cellLayer(map, state.api, {
  minZoom: state.map.cellMinZoom,
  tiles: state.map.cellTiles,
  onChange: ({ state: cellState, count, tiles: tilesShown, error }) => {
    setData("cellTiles", tilesShown ? "on" : "off");
    hintElement.hidden = tilesShown || cellState !== "zoom";
    setData("cells", count);
    setData("cellsState", cellState);
    if (cellState === "error") {
      console.warn("cells failed", error);
      showStatus(t.loadFailed);
    }
  },
});

// Registered before the label layer's own zoomend handler, so it measures labels at their new size.
function onZoom() {
  setData("zoom", map.getZoom());
  mapElement.classList.toggle("is-zoomed-out", map.getZoom() < 11);
}
map.on("zoomend", onZoom);
onZoom();

// --- Route on click ---------------------------------------------------------------------------
let routeController = null;
const clickMarker = L.circleMarker([0, 0], {
  pane: "selection",
  radius: 7,
  color: "#111827",
  weight: 2.5,
  fillColor: "#fbbf24",
  fillOpacity: 1,
  interactive: false,
});

function formatTime(date) {
  return new Intl.DateTimeFormat(language, {
    timeZone: state.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  }).format(date);
}

function named(item) {
  if (!item) return t.none;
  return item.code ? `${item.name}（${item.code}）` : item.name;
}

function renderRoute(result) {
  const routed = Boolean(result.routed);
  const rows = [
    [t.point, `${Number(result.point?.lon).toFixed(5)}, ${Number(result.point?.lat).toFixed(5)}`],
    [t.cell, named(result.cell)],
    [t.village, named(result.village)],
    [t.township, named(result.township)],
    [t.zone, result.zone ? result.zone.name : t.none],
    [t.matter, result.matter ? named(result.matter) : t.none],
    [t.coverageVersion, result.coverage_version ? result.coverage_version.name : t.none],
    [t.queriedAt, formatTime(new Date())],
  ];
  if (!routed && result.triage_queue) {
    rows.push([t.triageQueue, state.triageQueues[result.triage_queue] || result.triage_queue]);
  }

  const teamBox = result.team
    ? el("div", { className: "team-answer", attrs: { "data-team-code": result.team.code } }, [
        el("span", { className: "team-label", text: t.team }),
        el("strong", { className: "team-name", text: result.team.name }),
        el("span", {
          className: "team-kind",
          text: result.team.kind === "professional" ? t.teamProfessional : t.teamComprehensive,
        }),
      ])
    : null;

  const reasons = el(
    "ol",
    { className: "reasons" },
    (result.reasons || []).map((reason) =>
      el("li", { text: reason.text, attrs: { "data-reason": reason.code || "" } }),
    ),
  );

  const parts = [
    el("p", {
      className: `route-banner ${routed ? "is-routed" : "is-triage"}`,
      text: routed ? t.routed : t.notRouted,
      attrs: { "data-routed": String(routed) },
    }),
    teamBox,
    el(
      "dl",
      { className: "route-facts" },
      rows.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: value })]),
    ),
    el("h3", { className: "reasons-title", text: t.reasons }),
    reasons,
  ];
  resultElement.replaceChildren(...parts.filter(Boolean));
  cells.select(result.cell ? result.cell.code : null);
}

async function askRoute(latlng) {
  if (routeController) routeController.abort();
  routeController = new AbortController();
  const controller = routeController;
  clickMarker.setLatLng(latlng).addTo(map);
  resultElement.replaceChildren(el("p", { className: "muted", text: t.routing }));
  try {
    const result = await api.route(state.api, {
      lon: latlng.lng,
      lat: latlng.lat,
      matter: matterSelect.value,
      signal: controller.signal,
    });
    if (!controller.signal.aborted) renderRoute(result);
  } catch (error) {
    if (error.name === "AbortError") return;
    const message = error instanceof api.ApiError ? error.fieldMessage : "";
    resultElement.replaceChildren(
      el("p", { className: "route-banner is-error", text: message ? `${t.badRequest}：${message}` : t.loadFailed }),
    );
  }
}

let lastClick = null;
map.on("click", (event) => {
  lastClick = event.latlng;
  askRoute(event.latlng);
});
matterSelect.addEventListener("change", () => {
  if (lastClick) askRoute(lastClick);
});

// --- Legend -----------------------------------------------------------------------------------
// Teams grouped by domain, each with its zone colour; a team with no zone in the published
// coverage says so. Domains not drawn at the moment are dimmed.
function renderLegend(teamRows, zoneFeatures, colours, domainOrder, shownDomain) {
  const zonedTeams = new Set(zoneFeatures.map((f) => api.zoneTeamCode(f.properties)));
  const domains = [...new Set([...domainOrder, ...teamRows.map((team) => team.domain)])];
  const groups = domains
    .map((domain) => [domain, teamRows.filter((team) => team.domain === domain)])
    .filter(([, teams]) => teams.length);
  legendElement.replaceChildren(
    ...groups.map(([domain, teams]) =>
      el(
        "li",
        { className: `legend-domain${!shownDomain || shownDomain === domain ? "" : " is-dimmed"}` },
        [
          el("span", { className: "legend-domain-name", text: state.domains[domain] || domain }),
          el(
            "ul",
            {},
            teams.map((team) => {
              const hasZone = zonedTeams.has(team.code);
              const swatch = el("span", { className: `swatch${hasZone ? "" : " swatch-none"}` });
              if (hasZone) swatch.style.setProperty("--swatch", colours.get(team.code));
              return el(
                "li",
                {
                  className: "team",
                  attrs: { "data-team-code": team.code, "data-colour": hasZone ? colours.get(team.code) : "" },
                },
                [
                  swatch,
                  el("span", { className: "team-legend-name", text: team.name }),
                  hasZone ? null : el("small", { text: t.noZone }),
                ],
              );
            }),
          ),
        ],
      ),
    ),
  );
}

// --- Loading ----------------------------------------------------------------------------------
async function load() {
  showStatus(t.loading);
  const [layers, matters] = await Promise.all([
    loadCountyLayers(map, state),
    api.activeMatters(state.api).catch(() => []),
  ]);
  const { townships, villages, zones, teamRows, colours, domains, zoneGroup } = layers;

  fillDomainSelect(domainSelect, domains, state, t);
  const showDomain = () => {
    setData("zones", zoneGroup.showDomain(domainSelect.value));
    renderLegend(teamRows, zones.features, colours, domains, domainSelect.value);
  };
  domainSelect.addEventListener("change", showDomain);
  showDomain();

  for (const matter of matters) {
    matterSelect.append(el("option", { text: `${matter.code} ${matter.name}`, attrs: { value: matter.code } }));
  }

  layers.frame(24);
  showBasemap();

  const layersControl = layers.show(cells, baseLayers, t);

  setData("townships", townships.features.length);
  setData("villages", villages.features.length);
  setData("teams", teamRows.length);

  cells.refresh();
  showStatus("");
  setData("state", "ready");
  if (state.live.stream) startLive(colours, layersControl);
  // Like django-leaflet's map:init: other modules (and tests) get the map without a global.
  document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));
}

// --- Live: reports, units and alerts as they happen ------------------------------------------
const liveStatus = document.getElementById("live-status");
const liveFeed = document.getElementById("live-feed");
const FEED_LENGTH = 12;

function setLiveStatus({ state: linkState, retryIn }) {
  const text = {
    connecting: t.liveConnecting,
    live: t.liveOn,
    "catching-up": t.liveCatchingUp,
    degraded: t.liveDegraded,
    down: (t.liveDown || "").replace("%(s)s", retryIn ?? "…"),
    denied: t.liveDenied,
  }[linkState];
  liveStatus.textContent = text || linkState;
  liveStatus.dataset.state = linkState;
  document.getElementById("live-panel").dataset.state = linkState;
}

function feedItem(message) {
  const data = message.data;
  const label = {
    "report.created": t.newReport,
    "report.updated": t.updatedReport,
    "case.updated": t.updatedReport,
    "alert.raised": t.alertRaised,
    "alert.updated": t.alertUpdated,
  }[message.type];
  if (!label) return null;
  const time = (data.received_at || data.raised_at || "").slice(11, 19);
  const text = message.type.startsWith("report.") || message.type === "case.updated"
    ? `${data.number} ${data.matter ? data.matter.name : t.noMatter} → ${data.team ? data.team.name : t.triage}`
    : data.message;
  return el("li", { className: `feed-item feed-${message.type.replace(".", "-")}`, attrs: { "data-seq": message.seq } }, [
    el("time", { text: time }),
    el("span", { className: "feed-label", text: label }),
    el("span", { className: "feed-text", text }),
  ]);
}

function startLive(colours, layersControl) {
  const live = liveLayer(map, { colours, t });
  live.reportGroup.addTo(map);
  live.unitGroup.addTo(map);
  layersControl.addOverlay(live.reportGroup, t.layerReports);
  layersControl.addOverlay(live.unitGroup, t.layerUnits);

  const showCounts = () => {
    for (const [key, value] of Object.entries(live.counts())) {
      const node = document.querySelector(`[data-live-count="${key}"]`);
      if (node) node.textContent = String(value);
    }
  };
  // The snapshot over REST; events that arrive meanwhile are applied on top (upserts by id).
  const loadSnapshot = async () => {
    const [reportRows, unitRows, alertRows] = await Promise.all([
      api.recentReports(state.api, { since: state.live.todayStart }),
      api.units(state.api),
      api.openAlerts(state.api),
    ]);
    live.loadReports(reportRows.slice().reverse());
    live.loadUnits(unitRows);
    live.loadAlerts(alertRows);
    showCounts();
    setData("liveReports", live.counts().reports);
  };

  const connection = new LiveConnection({
    path: state.live.path,
    stream: state.live.stream,
    heartbeatSeconds: state.live.heartbeatSeconds,
  });
  connection.addEventListener("status", (event) => setLiveStatus(event.detail));
  connection.addEventListener("message", (event) => {
    const { message } = event.detail;
    live.apply(message);
    const item = feedItem(message);
    if (item) {
      liveFeed.prepend(item);
      while (liveFeed.children.length > FEED_LENGTH) liveFeed.lastElementChild.remove();
    }
    showCounts();
    setData("liveReports", live.counts().reports);
    setData("liveSeq", connection.last ?? "");
  });
  connection.addEventListener("reload", () => {
    live.clear();
    loadSnapshot().catch((error) => console.warn("live snapshot failed", error));
  });
  // Listen first, then load: nothing that happens in between is missed.
  connection.start();
  loadSnapshot().catch((error) => console.warn("live snapshot failed", error));
}

load().catch((error) => {
  console.warn("home map failed to load", error);
  showBasemap();
  showStatus(t.loadFailed);
  setData("state", "error");
});
