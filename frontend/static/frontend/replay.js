// Track replay (/replay/): supervisors pick units and a time range; their tracks play on one
// timeline, proportional to real time. Stops, trips and the per-unit summary come from the stops
// API, the patrol coverage of the day from the visited-cells API, exports from the track exports.
// State comes from the json_script block "replay-state"; the timeline logic is player.js (no DOM).
/* global L */

import * as api from "./api.js";
import { countyMap, loadCountyLayers } from "./countymap.js";
import { el, fill, timeFormatter } from "./dom.js";
import { teamColours } from "./layers.js";
import { PlayClock, positionAt, trackTimeline } from "./player.js";

// Tracks are asked for simplified at this zoom (about 2 m at 29° N): the server keeps every corner
// beyond that, both ends of every stop and every kept fix's own time, so the marker is where the
// unit was to within a couple of metres while straight stretches and stops shed their fixes
// (docs/REPLAY.md: a synthetic day goes from 17,280 to 1,856 vertices at zoom 14).
const TRACK_ZOOM = 16;

const state = JSON.parse(document.getElementById("replay-state").textContent);
const t = state.i18n;
const language = document.documentElement.lang || "zh-hans";
const mapElement = document.getElementById("map");
const statusElement = document.getElementById("map-status");
const form = document.getElementById("replay-form");
const formMessage = document.getElementById("form-message");
const playButton = document.getElementById("play-button");
const speedSelect = document.getElementById("speed");
const slider = document.getElementById("time-slider");
const timeNow = document.getElementById("time-now");
const player = document.getElementById("player");
const results = document.getElementById("results");
const resultsEmpty = document.getElementById("results-empty");

const clockText = timeFormatter(language, state.timeZone, { date: false, seconds: true });
const dateTimeText = timeFormatter(language, state.timeZone, { date: true, seconds: true });
const hhmm = timeFormatter(language, state.timeZone, { date: false, seconds: false });

function showStatus(message) {
  statusElement.textContent = message || "";
  statusElement.hidden = !message;
}

function showFormMessage(message) {
  formMessage.textContent = message || "";
  formMessage.hidden = !message;
}

function unitUrl(key, id, params) {
  const template = state.unitApi[key];
  if (!template) return null;
  const url = new URL(template.replace("{id}", String(id)), window.location.origin);
  for (const [name, value] of Object.entries(params || {})) url.searchParams.set(name, value);
  return url.pathname + url.search;
}

// --- Formatting -------------------------------------------------------------------------------
function durationText(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  if (s < 60) return fill(t.seconds, { n: s });
  const minutes = Math.round(s / 60);
  if (minutes < 60) return fill(t.minutes, { n: minutes });
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${fill(t.hours, { n: h })}${fill(t.minutes, { n: m })}` : fill(t.hours, { n: h });
}

function distanceText(metres) {
  const m = Math.max(0, metres || 0);
  return m < 1000 ? fill(t.metres, { n: Math.round(m) }) : fill(t.kilometres, { n: (m / 1000).toFixed(2) });
}

// --- Unit picker ------------------------------------------------------------------------------
function renderPicker() {
  const byTeam = new Map();
  for (const unit of state.units) {
    const key = unit.team?.code || "";
    if (!byTeam.has(key)) byTeam.set(key, { name: unit.team?.name || t.noTeam, units: [] });
    byTeam.get(key).units.push(unit);
  }
  const picker = document.getElementById("unit-picker");
  picker.replaceChildren(
    ...[...byTeam.entries()].map(([code, team]) =>
      el("fieldset", { className: "unit-team", attrs: { "data-team-code": code } }, [
        el("legend", { text: team.name }),
        ...team.units.map((unit) =>
          el("label", { className: "unit-option" }, [
            el("input", { attrs: { type: "checkbox", name: "unit", value: String(unit.id), "data-unit-code": unit.code } }),
            el("span", { className: "unit-option-kind", text: t.unitKindShort?.[unit.kind] || "" }),
            el("span", { text: `${unit.name} (${unit.code})` }),
          ]),
        ),
      ]),
    ),
  );
}
renderPicker();

// --- Map --------------------------------------------------------------------------------------
const { map, baseLayers, showBasemap } = countyMap(mapElement, state, t);
const layersControl = L.control.layers(baseLayers, {}, { collapsed: false, position: "topleft" }).addTo(map);
const trackGroup = L.layerGroup().addTo(map);
const stopGroup = L.layerGroup().addTo(map);
const coverageGroup = L.layerGroup().addTo(map);
const markerGroup = L.layerGroup().addTo(map);
const activityGroup = L.layerGroup().addTo(map);
map.createPane("coverage").style.zIndex = "445";
map.createPane("activity").style.zIndex = "485";
map.createPane("tracks").style.zIndex = "470";
map.createPane("stops").style.zIndex = "475";
map.createPane("replayUnits").style.zIndex = "490";
document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));

// Team colours as on the command centre (the zones' teams first); other teams get their own.
let colours = new Map();
const fallbackColours = teamColours(state.units.map((u) => u.team?.code || ""));
function colourOf(unit) {
  const code = unit.team?.code || "";
  return colours.get(code) || fallbackColours.get(code) || "#0f2a4a";
}

const countyReady = loadCountyLayers(map, state)
  .then((layers) => {
    colours = layers.colours;
    layers.frame(20);
    layers.townshipGroup.addTo(map);
    layers.villageGroup.addTo(map);
    layers.labelGroup.addTo(map);
    layersControl.addOverlay(layers.townshipGroup, t.layerTownships);
    layersControl.addOverlay(layers.villageGroup, t.layerVillages);
    layersControl.addOverlay(layers.labelGroup, t.layerLabels);
    showBasemap();
    mapElement.dataset.state = "ready";
  })
  .catch((error) => {
    console.warn("county layers failed", error);
    mapElement.dataset.state = "error";
  });
layersControl.addOverlay(trackGroup, t.layerTracks);
layersControl.addOverlay(stopGroup, t.layerStops);
layersControl.addOverlay(coverageGroup, t.layerCoverage);
layersControl.addOverlay(activityGroup, t.layerActivity);

// --- Replay -----------------------------------------------------------------------------------
let replay = null; // {clock, units: [{unit, timeline, layers…}], start, end}
let frameRequest = null;

function stopAnimation() {
  if (frameRequest !== null) cancelAnimationFrame(frameRequest);
  frameRequest = null;
}

function clearReplay() {
  stopAnimation();
  replay = null;
  trackGroup.clearLayers();
  stopGroup.clearLayers();
  coverageGroup.clearLayers();
  markerGroup.clearLayers();
  activityGroup.clearLayers();
  results.replaceChildren();
  for (const name of [...mapElement.getAttributeNames()]) {
    if (name.startsWith("data-unit-")) mapElement.removeAttribute(name);
  }
  player.dataset.state = "empty";
  playButton.disabled = true;
  slider.disabled = true;
}

function latLngs(coords) {
  return coords.map(([lon, lat]) => L.latLng(lat, lon));
}

function unitMarker(unit, colour) {
  const marker = L.marker([0, 0], {
    pane: "replayUnits",
    keyboard: false,
    icon: L.divIcon({
      className: "replay-unit",
      iconSize: [26, 26],
      iconAnchor: [13, 13],
      html:
        `<span class="unit-arrow"></span><span class="unit-kind"></span>` +
        `<span class="unit-label"></span>`,
    }),
  });
  marker.addTo(markerGroup);
  const element = marker.getElement();
  element.style.setProperty("--team", colour);
  element.dataset.unitId = String(unit.id);
  element.querySelector(".unit-kind").textContent = t.unitKindShort?.[unit.kind] || "";
  marker.bindTooltip(`${unit.name} (${unit.code})`, { direction: "top", offset: [0, -14] });
  return {
    marker,
    element,
    arrow: element.querySelector(".unit-arrow"),
    label: element.querySelector(".unit-label"),
  };
}

// One unit on the map: the whole track faint, the travelled part solid (rebuilt only when the
// fix at or before the replay time changes; the stretch from that fix to the marker is `head`).
function drawUnit(unit, timeline) {
  const colour = colourOf(unit);
  const lines = timeline.pieces.map((piece) => (piece.line === null ? null : latLngs(piece.coords)));
  const drawn = lines.filter(Boolean);
  const faint = L.polyline(drawn, { pane: "tracks", color: colour, weight: 4, opacity: 0.25, interactive: false });
  const travelled = L.polyline([], { pane: "tracks", color: colour, weight: 4, opacity: 0.95, interactive: false });
  const head = L.polyline([], { pane: "tracks", color: colour, weight: 4, opacity: 0.95, interactive: false });
  if (drawn.length) trackGroup.addLayer(faint);
  trackGroup.addLayer(travelled);
  trackGroup.addLayer(head);
  return { unit, timeline, colour, lines, faint, travelled, head, travelledKey: null, ...unitMarker(unit, colour) };
}

function renderUnit(entry, time) {
  const position = positionAt(entry.timeline, time);
  const attr = `data-unit-${entry.unit.id}`;
  if (!position) {
    entry.marker.setOpacity(0);
    mapElement.setAttribute(`${attr}-state`, "empty");
    return { id: entry.unit.id, state: "empty" };
  }
  const [lon, lat] = position.point;
  entry.marker.setOpacity(1);
  entry.marker.setLatLng([lat, lon]);
  entry.element.dataset.state = position.state;
  if (position.heading === null) {
    entry.element.classList.add("no-heading");
  } else {
    entry.element.classList.remove("no-heading");
    entry.arrow.style.transform = `rotate(${position.heading}deg)`;
  }
  entry.label.textContent =
    position.state === "gap"
      ? t.signalLost
      : position.state === "before"
        ? t.noDataYet
        : position.state === "after"
          ? t.trackEnded
          : "";

  // Travelled: every line before the current piece, the current one up to its fix at/before time.
  const key = `${position.piece}:${position.index}:${position.state === "before"}`;
  if (key !== entry.travelledKey) {
    entry.travelledKey = key;
    const done = [];
    for (let k = 0; k < position.piece; k += 1) if (entry.lines[k]) done.push(entry.lines[k]);
    const current = position.piece >= 0 ? entry.lines[position.piece] : null;
    if (current) done.push(current.slice(0, position.index + 1));
    entry.travelled.setLatLngs(done);
  }
  if (position.state === "moving" && entry.lines[position.piece]) {
    entry.head.setLatLngs([entry.lines[position.piece][position.index], L.latLng(lat, lon)]);
  } else {
    entry.head.setLatLngs([]);
  }
  mapElement.setAttribute(`${attr}-latlng`, `${lat.toFixed(7)},${lon.toFixed(7)}`);
  mapElement.setAttribute(`${attr}-state`, position.state);
  return { id: entry.unit.id, state: position.state, lat, lng: lon, heading: position.heading };
}

const RECENT_MS = 5 * 60_000; // an activity marker stays highlighted for five minutes of replay time

function render() {
  if (!replay) return;
  const time = replay.clock.time;
  const units = replay.units.map((entry) => renderUnit(entry, time));
  // A case step or report shows on the map from its moment on, the latest one highlighted.
  for (const entry of replay.units) {
    for (const item of entry.activityMarks || []) {
      const element = item.marker.getElement();
      if (!element) continue;
      const happened = time >= item.at;
      element.classList.toggle("is-future", !happened);
      element.classList.toggle("is-recent", happened && time - item.at < RECENT_MS);
    }
  }
  slider.value = String(Math.round((time - replay.start) / 1000));
  timeNow.textContent = clockText(time);
  timeNow.title = dateTimeText(time);
  mapElement.dataset.time = new Date(time).toISOString();
  mapElement.dataset.timeMs = String(Math.round(time));
  player.dataset.state = replay.clock.playing ? "playing" : "paused";
  playButton.textContent = replay.clock.playing ? "❚❚" : "▶";
  playButton.setAttribute("aria-label", replay.clock.playing ? t.pause : t.play);
  document.dispatchEvent(new CustomEvent("gridops:replay-frame", { detail: { time, units } }));
}

function frame(now) {
  frameRequest = null;
  if (!replay) return;
  replay.clock.tick(now);
  render();
  if (replay.clock.playing) frameRequest = requestAnimationFrame(frame);
}

playButton.addEventListener("click", () => {
  if (!replay) return;
  if (replay.clock.playing) {
    replay.clock.pause(performance.now());
    stopAnimation();
    render();
  } else {
    replay.clock.play(performance.now());
    render();
    frameRequest = requestAnimationFrame(frame);
  }
});

speedSelect.addEventListener("change", () => {
  if (replay) replay.clock.setSpeed(Number(speedSelect.value), performance.now());
});

slider.addEventListener("input", () => {
  if (!replay) return;
  replay.clock.seek(replay.start + Number(slider.value) * 1000);
  if (replay.clock.playing) replay.clock.lastNow = performance.now();
  render();
});

function seek(time) {
  if (!replay) return;
  replay.clock.seek(time);
  if (replay.clock.playing) replay.clock.lastNow = performance.now();
  render();
}

// --- Results panel ----------------------------------------------------------------------------
function summaryRow(name, label, value) {
  return el("div", { className: "summary-row", attrs: { "data-summary": name } }, [
    el("dt", { text: label }),
    el("dd", { text: value }),
  ]);
}

function unitResult(entry) {
  const { unit, colour, timeline } = entry;
  const swatch = el("span", { className: "swatch" });
  swatch.style.setProperty("--swatch", colour);
  const range = { start: replay.startParam, end: replay.endParam };
  const exports = ["gpx", "geojson"].map((key) => {
    const url = unitUrl(key, unit.id, range);
    const label = key === "gpx" ? t.exportGpx : t.exportGeojson;
    return url
      ? el("a", { className: "export-link", text: label, attrs: { href: url, download: "", "data-export": key } })
      : el("span", { className: "export-link is-unavailable", text: `${label} · ${t.unavailable}`, attrs: { "data-export": key } });
  });
  const section = el("section", { className: "unit-result", attrs: { "data-unit-id": String(unit.id) } }, [
    el("h3", {}, [swatch, el("span", { text: `${unit.name} (${unit.code})` })]),
    el("p", { className: "muted unit-team-name", text: unit.team?.name || t.noTeam }),
    el("p", { className: "unit-fixes", text: entry.error || fill(t.fixes, { n: timeline?.count ?? 0 }) }),
    el("dl", { className: "unit-summary", attrs: { "data-state": "loading" } }, [
      summaryRow("loading", t.summary, t.loading),
    ]),
    el("div", { className: "exports" }, exports),
    el("h4", { text: t.stops }),
    el("ol", { className: "stop-list", attrs: { "data-state": "loading" } }, [el("li", { className: "muted", text: t.loading })]),
    el("h4", { text: t.trips }),
    el("ol", { className: "trip-list", attrs: { "data-state": "loading" } }, [el("li", { className: "muted", text: t.loading })]),
    el("h4", { text: t.activity }),
    el("ol", { className: "activity-list", attrs: { "data-state": "loading" } }, [el("li", { className: "muted", text: t.loading })]),
  ]);
  entry.section = section;
  entry.summaryRows = { stops: null, coverage: null };
  return section;
}

function timeRow(className, start, end, text, extra = {}) {
  return el("li", { className, attrs: extra }, [
    el("button", {
      className: "seek",
      text: `${hhmm(start)}–${hhmm(end)}`,
      attrs: { type: "button", "data-seek": String(Date.parse(start)) },
    }),
    el("span", { text }),
  ]);
}

function renderSummary(entry) {
  const list = entry.section.querySelector(".unit-summary");
  const rows = [];
  const stops = entry.stops;
  if (stops === "unavailable" || stops === "error") {
    rows.push(summaryRow("stops", t.summary, stops === "error" ? t.loadFailed : t.unavailable));
  } else if (stops) {
    const totals = stops.totals || {};
    rows.push(
      summaryRow("distance", t.distance, distanceText(totals.metres)),
      summaryRow("moving", t.movingTime, durationText(totals.moving_seconds)),
      summaryRow("stopped", t.stoppedTime, durationText(totals.stopped_seconds)),
      summaryRow("gaps", t.gaps, fill(t.gapsValue, { n: (stops.gaps || []).length, t: durationText(totals.gap_seconds) })),
    );
  }
  const cells = entry.cells;
  if (cells === "unavailable" || cells === "error") {
    rows.push(summaryRow("coverage", t.coverage, cells === "error" ? t.loadFailed : t.unavailable));
  } else if (cells) {
    rows.push(
      summaryRow(
        "coverage",
        t.coverage,
        fill(t.coverageValue, { visited: cells.visited, assigned: cells.assigned, pct: `${Number(cells.percentage).toFixed(1)}%` }),
      ),
    );
  }
  if (!rows.length) rows.push(summaryRow("loading", t.summary, t.loading));
  list.replaceChildren(...rows);
  if (cells && typeof cells === "object" && !entry.section.querySelector(".coverage-legend")) {
    list.after(
      el("p", { className: "coverage-legend" }, [
        el("span", { className: "swatch swatch-visited" }),
        el("span", { text: t.visited }),
        el("span", { className: "swatch swatch-not-visited" }),
        el("span", { text: t.notVisited }),
      ]),
    );
  }
  list.dataset.state = stops && cells ? "ready" : "loading";
  if (cells && typeof cells === "object") list.dataset.percentage = String(cells.percentage);
}

function renderStops(entry) {
  const stopList = entry.section.querySelector(".stop-list");
  const tripList = entry.section.querySelector(".trip-list");
  const data = entry.stops;
  if (data === "unavailable" || data === "error") {
    const text = data === "error" ? t.loadFailed : t.unavailable;
    for (const list of [stopList, tripList]) {
      list.replaceChildren(el("li", { className: "muted", text }));
      list.dataset.state = data;
    }
    return;
  }
  stopList.replaceChildren(
    ...(data.stops.length
      ? data.stops.map((stop) =>
          timeRow("stop-row", stop.start, stop.end, fill(t.stopLabel, { t: durationText(stop.seconds) }), {
            "data-seconds": String(stop.seconds),
          }),
        )
      : [el("li", { className: "muted", text: t.noStops })]),
  );
  tripList.replaceChildren(
    ...(data.trips.length
      ? data.trips.map((trip) =>
          timeRow("trip-row", trip.start, trip.end, `${distanceText(trip.metres)} · ${durationText(trip.seconds)}`, {
            "data-metres": String(Math.round(trip.metres)),
          }),
        )
      : [el("li", { className: "muted", text: t.noTrips })]),
  );
  stopList.dataset.state = "ready";
  tripList.dataset.state = "ready";
  stopList.dataset.count = String(data.stops.length);
  tripList.dataset.count = String(data.trips.length);
  for (const stop of data.stops) {
    const [lon, lat] = stop.point;
    L.circleMarker([lat, lon], {
      pane: "stops",
      radius: 7,
      color: "#fff",
      weight: 2,
      fillColor: entry.colour,
      fillOpacity: 1,
    })
      .bindTooltip(fill(t.stopLabel, { t: durationText(stop.seconds) }), {
        permanent: true,
        direction: "right",
        offset: [8, 0],
        className: "stop-label",
      })
      .on("click", () => seek(Date.parse(stop.start)))
      .addTo(stopGroup);
  }
}

function drawCoverage(entry) {
  const data = entry.cells;
  if (!data || typeof data !== "object") return;
  L.geoJSON(data.cells, {
    pane: "coverage",
    interactive: false,
    // Assigned and visited: green; assigned, not visited: red outline; visited outside the
    // assignment: a light green fill with a grey outline (not counted in the percentage).
    style: ({ properties: { assigned, visited } }) =>
      !assigned
        ? { color: "#6b7280", weight: 1, opacity: 0.8, dashArray: "2 3", fillColor: "#86efac", fillOpacity: 0.2 }
        : visited
          ? { color: "#15803d", weight: 1, opacity: 0.9, fillColor: "#22c55e", fillOpacity: 0.35 }
          : { color: "#dc2626", weight: 2, opacity: 0.9, dashArray: "5 3", fill: false },
    onEachFeature: (feature, layer) => {
      layer.on("add", () => {
        const path = layer.getElement?.();
        if (!path) return;
        path.dataset.cellCode = feature.properties.code;
        path.dataset.visited = String(Boolean(feature.properties.visited));
        path.dataset.assigned = String(Boolean(feature.properties.assigned));
      });
    },
  }).addTo(coverageGroup);
}

// A missing endpoint (404 before the backend lands, or not wired up) reads "unavailable", not
// an error; a 404 for the unit itself cannot happen here (the track answered).
async function loadOptional(key, entry, params) {
  const url = unitUrl(key, entry.unit.id, params);
  if (!url) return "unavailable";
  try {
    return await api.getJSON(url);
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 404) return "unavailable";
    console.warn(`${key} failed`, error);
    return "error";
  }
}

// Patrol coverage is of the chosen day: from its 00:00 (to the end chosen, for today; to the
// day's end, for an earlier day).
function coverageParams(params) {
  const date = params.start.slice(0, 10);
  return { start: `${date}T00:00:00`, end: date === state.defaultRange.date ? params.end : `${date}T23:59:59` };
}

async function loadDetails(entry, params, generation) {
  const [stops, cells, activity] = await Promise.all([
    loadOptional("stops", entry, params),
    loadOptional("visitedCells", entry, coverageParams(params)),
    loadOptional("activity", entry, params),
  ]);
  if (!replay || replay.generation !== generation) return;
  entry.stops = stops;
  entry.cells = cells;
  renderSummary(entry);
  renderStops(entry);
  drawCoverage(entry);
  renderActivity(entry, activity);
  render();
}

// The cases dispatched to the unit and the reports it sent, at their moment and place.
function renderActivity(entry, data) {
  const list = entry.section.querySelector(".activity-list");
  if (data === "unavailable" || data === "error") {
    list.replaceChildren(el("li", { className: "muted", text: data === "error" ? t.loadFailed : t.unavailable }));
    list.dataset.state = data;
    return;
  }
  const events = data.events || [];
  list.replaceChildren(
    ...(events.length
      ? events.map((item) =>
          el("li", { className: "activity-row", attrs: { "data-action": item.action, "data-report-id": String(item.report.id) } }, [
            el("button", { className: "seek", text: hhmm(item.at), attrs: { type: "button", "data-seek": String(Date.parse(item.at)) } }),
            el("span", { text: `${item.label} · ${item.report.number}${item.report.matter ? ` ${item.report.matter}` : ""}` }),
            item.note ? el("small", { text: item.note }) : null,
          ]),
        )
      : [el("li", { className: "muted", text: t.noActivity })]),
  );
  list.dataset.state = "ready";
  list.dataset.count = String(events.length);
  entry.activityMarks = events.map((item) => {
    const [lon, lat] = item.point;
    const marker = L.marker([lat, lon], {
      pane: "activity",
      icon: L.divIcon({
        className: `activity-marker activity-${item.kind}`,
        html: `<span style="--unit:${entry.colour}"></span>`,
        iconSize: [14, 14],
      }),
      keyboard: false,
    })
      .bindTooltip(`${hhmm(item.at)} ${item.label} · ${item.report.number}`, { direction: "top", offset: [0, -8] })
      .on("click", () => seek(Date.parse(item.at)))
      .addTo(activityGroup);
    const element = marker.getElement();
    if (element) {
      element.dataset.action = item.action;
      element.dataset.at = item.at;
    }
    return { at: Date.parse(item.at), marker };
  });
}

results.addEventListener("click", (event) => {
  const button = event.target.closest("[data-seek]");
  if (button) seek(Number(button.dataset.seek));
});

// --- Load -------------------------------------------------------------------------------------
let generation = 0;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showFormMessage("");
  const ids = [...form.querySelectorAll("input[name=unit]:checked")].map((box) => Number(box.value));
  if (!ids.length) {
    showFormMessage(t.pickUnits);
    return;
  }
  const date = form.elements.date.value;
  const from = form.elements.from.value;
  const to = form.elements.to.value;
  if (!date || !from || !to || to <= from) {
    showFormMessage(t.badRange);
    return;
  }
  // Naive times: the API reads them as Asia/Shanghai, whatever the browser's zone.
  const params = { start: `${date}T${from}:00`, end: `${date}T${to}:00` };
  generation += 1;
  const mine = generation;
  clearReplay();
  mapElement.dataset.replay = "loading";
  showStatus(t.loading);
  await countyReady;
  const units = ids.map((id) => state.units.find((u) => u.id === id)).filter(Boolean);
  const answers = await Promise.all(
    units.map((unit) =>
      api.getJSON(unitUrl("track", unit.id, { ...params, zoom: TRACK_ZOOM })).then(
        (feature) => ({ unit, feature }),
        (error) => ({ unit, error: error instanceof api.ApiError && error.fieldMessage ? error.fieldMessage : t.loadFailed }),
      ),
    ),
  );
  if (mine !== generation) return;
  const answered = answers.find((a) => a.feature);
  if (!answered) {
    showStatus("");
    showFormMessage(answers[0]?.error || t.loadFailed);
    mapElement.dataset.replay = "error";
    return;
  }
  const start = Date.parse(answered.feature.properties.start);
  const end = Date.parse(answered.feature.properties.end);
  const entries = answers.map(({ unit, feature, error }) => {
    if (!feature) return { unit, error, timeline: null, colour: colourOf(unit) };
    return drawUnit(unit, trackTimeline(feature));
  });
  const drawn = entries.filter((e) => e.timeline);
  const firsts = drawn.map((e) => e.timeline.first).filter((v) => v !== null);
  const clock = new PlayClock({ start, end, speed: Number(speedSelect.value) });
  clock.seek(firsts.length ? Math.min(...firsts) : start);
  replay = {
    clock,
    units: drawn,
    start,
    end,
    generation: mine,
    startParam: params.start,
    endParam: params.end,
  };
  slider.min = "0";
  slider.max = String(Math.round((end - start) / 1000));
  slider.disabled = false;
  playButton.disabled = false;
  resultsEmpty.hidden = true;
  results.replaceChildren(...entries.map((entry) => unitResult(entry)));
  // Frame what was travelled; without a fix the county stays in view.
  const bounds = L.latLngBounds([]);
  for (const entry of drawn) if (entry.lines.some(Boolean)) bounds.extend(entry.faint.getBounds());
  for (const entry of drawn) for (const piece of entry.timeline.pieces) if (piece.line === null) bounds.extend(L.latLng(piece.coords[0][1], piece.coords[0][0]));
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [40, 40], maxZoom: 17, animate: false });
  showStatus(firsts.length ? "" : t.noFixes);
  render();
  mapElement.dataset.replay = "ready";
  for (const entry of drawn) loadDetails(entry, params, mine);
  for (const entry of entries) if (!entry.timeline) {
    entry.stops = "error";
    entry.cells = "error";
    renderSummary(entry);
    renderStops(entry);
  }
});
