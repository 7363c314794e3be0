// Map layers of the home page: one factory per layer. Leaflet is the global `L` loaded by
// /static/vendor/leaflet/leaflet.js before the page's modules run (modules are deferred).
/* global L, protomapsL */

import { cellsInBbox, zoneTeamCode } from "./api.js";

// Layers are stacked in panes so the order holds whatever is toggled in which order.
const PANES = { zones: 410, villages: 420, cells: 430, townships: 440, selection: 450, labels: 460, cameras: 462 };

export function createPanes(map) {
  for (const [name, zIndex] of Object.entries(PANES)) {
    map.createPane(name).style.zIndex = String(zIndex);
  }
  // Labels sit above the polygons but must never swallow the click that asks for a route.
  map.getPane("labels").style.pointerEvents = "none";
}

// Distinct, high-contrast colours for teams; beyond the list, hues spread by the golden angle.
const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d",
];

export function teamColours(teamCodes) {
  const colours = new Map();
  [...new Set(teamCodes)].sort().forEach((code, i) => {
    colours.set(code, i < PALETTE.length ? PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 65%, 42%)`);
  });
  return colours;
}

export function townshipLayer(collection) {
  return L.geoJSON(collection, {
    pane: "townships",
    interactive: false,
    style: { color: "#14213d", weight: 2.5, opacity: 0.95, fill: false },
  });
}

export function villageLayer(collection) {
  return L.geoJSON(collection, {
    pane: "villages",
    interactive: false,
    style: { color: "#5c677d", weight: 1, opacity: 0.8, dashArray: "4 3", fill: false },
  });
}

// Zones of the published coverage, filled with their team's colour. `domain` limits the drawing
// to one enforcement domain: zones of different domains overlap by design.
export function zoneLayer(collection, colours) {
  const group = L.geoJSON(null, {
    pane: "zones",
    interactive: false,
    style: (feature) => {
      const colour = colours.get(zoneTeamCode(feature.properties)) || "#7f7f7f";
      return { color: colour, weight: 1.5, opacity: 0.9, fillColor: colour, fillOpacity: 0.3 };
    },
  });
  group.showDomain = (domain) => {
    group.clearLayers();
    group.addData({
      type: "FeatureCollection",
      features: collection.features.filter((f) => !domain || f.properties.domain === domain),
    });
    return group.getLayers().length;
  };
  return group;
}

// Area-weighted centroid of a feature's largest ring: a label point with no dependency.
function labelPoint(geometry) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let best = null;
  for (const polygon of polygons) {
    const ring = polygon[0];
    let area = 0;
    let cx = 0;
    let cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      area += cross;
      cx += (ring[j][0] + ring[i][0]) * cross;
      cy += (ring[j][1] + ring[i][1]) * cross;
    }
    if (area !== 0 && (!best || Math.abs(area) > Math.abs(best.area))) {
      best = { area, lon: cx / (3 * area), lat: cy / (3 * area) };
    }
  }
  return best ? L.latLng(best.lat, best.lon) : null;
}

// Township names at their polygon's centroid. Where names would overlap (low zooms, small
// townships) the larger township keeps its label and the smaller one is hidden until zoomed in.
export function townshipLabelLayer(map, collection) {
  const group = L.layerGroup();
  const labels = [];
  for (const feature of collection.features) {
    const at = feature.geometry && labelPoint(feature.geometry);
    if (!at) continue;
    const label = document.createElement("span");
    label.textContent = feature.properties.name;
    const marker = L.marker(at, {
      pane: "labels",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: "township-label", html: label, iconSize: null }),
    });
    labels.push({ marker, label, area: L.geoJSON(feature).getBounds() });
    group.addLayer(marker);
  }
  // Larger townships first: their names win.
  labels.sort((a, b) => boundsArea(b.area) - boundsArea(a.area));

  function declutter() {
    if (!map.hasLayer(group)) return;
    const kept = [];
    for (const { label } of labels) {
      label.style.visibility = "";
      const box = label.getBoundingClientRect();
      const overlaps = kept.some(
        (k) => box.left < k.right + 4 && box.right + 4 > k.left && box.top < k.bottom && box.bottom > k.top,
      );
      if (overlaps) label.style.visibility = "hidden";
      else kept.push(box);
    }
  }
  map.on("zoomend", declutter);
  group.on("add", () => requestAnimationFrame(declutter));
  return group;
}

function boundsArea(bounds) {
  return (bounds.getEast() - bounds.getWest()) * (bounds.getNorth() - bounds.getSouth());
}

// Grid cells below `minZoom`, as vector tiles cut by PostGIS (/api/v1/tiles/cells/{z}/{x}/{y}.pbf)
// and drawn on canvas by protomaps-leaflet (the global `protomapsL`, loaded like Leaflet): outlines
// only, for the overview of a county or province where thousands of cells would be too many SVG
// paths. `tiles` is {url, minZoom} from the page state; null when the page has no such layer.
export function cellTileLayer({ url, minZoom, maxZoom }) {
  if (typeof protomapsL === "undefined") return null;
  return protomapsL.leafletLayer({
    url,
    pane: "cells",
    minZoom,
    maxZoom,
    // Our own data: no third-party attribution, no basemap flavour, one data tile per display tile.
    attribution: "",
    levelDiff: 0,
    maxDataZoom: maxZoom,
    paintRules: [
      {
        dataLayer: "cells",
        symbolizer: new protomapsL.LineSymbolizer({ color: "#1d4e89", width: 0.6, opacity: 0.55 }),
      },
    ],
  });
}

// Grid cells: fetched for the visible bbox from `minZoom` on, again after every move. A newer
// move aborts the older request, so a slow answer never overwrites a fresher view. Below
// `minZoom`, from `tiles.minZoom`, the outlines come as vector tiles (cellTileLayer) instead.
export function cellLayer(map, api, { minZoom, onChange, tiles = null }) {
  const layer = L.geoJSON(null, {
    pane: "cells",
    interactive: false,
    style: { color: "#1d4e89", weight: 1, opacity: 0.9, fillColor: "#1d4e89", fillOpacity: 0.04 },
  });
  let inflight = null;
  let selectedCode = null;
  const tileLayer = tiles ? cellTileLayer({ url: tiles.url, minZoom: tiles.minZoom, maxZoom: minZoom - 1 }) : null;

  // The tile layer follows the cells layer's switch and shows only between its zooms.
  function syncTiles() {
    if (!tileLayer) return false;
    const zoom = map.getZoom();
    const wanted = map.hasLayer(layer) && zoom >= tiles.minZoom && zoom < minZoom;
    if (wanted && !map.hasLayer(tileLayer)) tileLayer.addTo(map);
    if (!wanted && map.hasLayer(tileLayer)) map.removeLayer(tileLayer);
    return wanted;
  }

  function restyle() {
    layer.eachLayer((l) => {
      const selected = l.feature.properties.code === selectedCode;
      l.setStyle(
        selected
          ? { color: "#f59e0b", weight: 4, opacity: 1, fillColor: "#f59e0b", fillOpacity: 0.15 }
          : layer.options.style,
      );
      if (selected) l.bringToFront();
    });
  }

  async function refresh() {
    if (inflight) inflight.abort();
    inflight = null;
    const tilesShown = syncTiles();
    if (!map.hasLayer(layer)) {
      onChange({ state: "off", count: 0, tiles: tilesShown });
      return;
    }
    const zoom = map.getZoom();
    if (zoom < minZoom) {
      layer.clearLayers();
      onChange({ state: "zoom", count: 0, tiles: tilesShown });
      return;
    }
    const controller = new AbortController();
    inflight = controller;
    const b = map.getBounds().pad(0.2);
    onChange({ state: "loading", count: layer.getLayers().length });
    try {
      const collection = await cellsInBbox(api, {
        bounds: { west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() },
        zoom,
        signal: controller.signal,
      });
      if (controller.signal.aborted) return;
      layer.clearLayers();
      layer.addData(collection);
      restyle();
      onChange({ state: "ready", count: layer.getLayers().length });
    } catch (error) {
      if (error.name === "AbortError" || controller.signal.aborted) return;
      onChange({ state: "error", count: 0, error });
    } finally {
      if (inflight === controller) inflight = null;
    }
  }

  map.on("moveend", refresh);
  map.on("overlayadd overlayremove", (event) => {
    if (event.layer === layer) refresh();
  });
  layer.refresh = refresh;
  layer.select = (code) => {
    selectedCode = code;
    restyle();
  };
  return layer;
}

// Cameras: a marker that points where the camera looks, and its field of view as a light wedge.
export function cameraLayer(collection, { fovPane = "zones" } = {}) {
  const markers = L.layerGroup();
  const views = L.layerGroup();
  for (const feature of collection.features) {
    const [lon, lat] = feature.geometry.coordinates;
    const p = feature.properties;
    const heading = Number.isFinite(p.heading) ? p.heading : null;
    const marker = L.marker([lat, lon], {
      pane: "cameras",
      keyboard: false,
      icon: L.divIcon({
        className: `camera-marker${p.active ? "" : " is-inactive"}`,
        iconSize: [24, 24],
        iconAnchor: [12, 12],
        html:
          (heading === null ? "" : `<span class="camera-beam" style="transform:rotate(${heading}deg)"></span>`) +
          '<span class="camera-body"></span>',
      }),
    });
    marker.bindTooltip(`${p.name}（${p.code}）`);
    marker.on("add", () => {
      const element = marker.getElement();
      if (element) element.dataset.cameraCode = p.code;
    });
    markers.addLayer(marker);
    if (p.field_of_view) {
      views.addLayer(
        L.geoJSON(p.field_of_view, {
          pane: fovPane,
          interactive: false,
          style: { color: "#7c3aed", weight: 1, opacity: 0.8, fillColor: "#a78bfa", fillOpacity: 0.18 },
        }),
      );
    }
  }
  return { markers, views, count: collection.features.length };
}
