// Map module of the inspection planning page: the county's townships and, one at a time, the
// targets by credit colour, the joint visits (lead target linked to its members) or a draw's chosen
// targets. Works with no basemap (outlines on a plain background); a tile URL comes from settings.
/* global L */

import * as api from "./api.js";
import { countyMap } from "./countymap.js";
import { townshipLayer } from "./layers.js";

export const COLOURS = { red: "#dc2626", yellow: "#d4a10a", green: "#16a34a" };
const OUTLINE = "#111827";

function lonLat(point) {
  const [lon, lat] = point.coordinates;
  return [lat, lon];
}

export class InspectionsMap {
  constructor(element, state, t, { onTarget } = {}) {
    const { map, baseLayers, showBasemap } = countyMap(element, state, t);
    this.map = map;
    this.state = state;
    this.t = t;
    this.element = element;
    this.showBasemap = showBasemap;
    this.onTarget = onTarget || (() => {});
    this.layer = L.layerGroup().addTo(map);
    this.markers = new Map();
    if (Object.keys(baseLayers).length) L.control.layers(baseLayers, {}, { position: "topright" }).addTo(map);
    map.createPane("inspections").style.zIndex = "470";
    document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));
  }

  // Township outlines for orientation; the view frames them (or the targets, once drawn).
  async loadTownships() {
    const townships = await api.regions(this.state.api, { levels: this.state.levels.township, simplify: "0.0002" });
    const group = townshipLayer(townships).addTo(this.map);
    const bounds = group.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [20, 20], animate: false });
    this.showBasemap();
    this.element.dataset.state = "ready";
  }

  marker(target, { colour, radius = 7, selected = false, label } = {}) {
    const fill = COLOURS[colour || target.colour] || "#6b7280";
    const m = L.circleMarker(lonLat(target.point), {
      pane: "inspections",
      radius: selected ? radius + 3 : radius,
      color: selected ? "#000" : OUTLINE,
      weight: selected ? 3 : 1,
      fillColor: fill,
      fillOpacity: 0.9,
    });
    m.bindTooltip(label || target.name);
    m.on("click", () => this.onTarget(target.id));
    this.markers.set(target.id, m);
    return m;
  }

  clear() {
    this.layer.clearLayers();
    this.markers.clear();
  }

  fit(points) {
    if (!points.length) return;
    const bounds = L.latLngBounds(points.map(lonLat));
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 16, animate: false });
  }

  // The registry: one dot per target in its credit colour.
  showTargets(targets, { selectedId = null } = {}) {
    this.clear();
    for (const target of targets) {
      if (target.point) this.marker(target, { selected: target.id === selectedId }).addTo(this.layer);
    }
    this.element.dataset.shown = `targets:${targets.length}`;
  }

  select(targetId) {
    for (const [id, m] of this.markers) {
      m.setStyle({ color: id === targetId ? "#000" : OUTLINE, weight: id === targetId ? 3 : 1 });
      m.setRadius(id === targetId ? 10 : 7);
      if (id === targetId) m.bringToFront();
    }
  }

  // Joint visits: the lead target (first) linked to every other target of the visit.
  showVisits(visits, { selectedKey = null } = {}) {
    this.clear();
    const points = [];
    visits.forEach((visit, index) => {
      const key = visit.key ?? String(visit.id);
      const selected = key === selectedKey;
      const [lead, ...others] = visit.targets;
      if (!lead) return;
      for (const other of others) {
        L.polyline([lonLat(lead.point), lonLat(other.point)], {
          pane: "inspections",
          color: selected ? "#000" : "#1d4ed8",
          weight: selected ? 3 : 2,
          dashArray: "4 4",
        }).addTo(this.layer);
      }
      for (const target of visit.targets) {
        this.marker(target, { selected, label: `${index + 1}. ${target.name}` }).addTo(this.layer);
        points.push(target.point);
      }
    });
    this.element.dataset.shown = `visits:${visits.length}`;
    if (!selectedKey) this.fit(points);
  }

  // A draw's chosen targets, numbered as in the table; `byId` gives their points.
  showDraw(results, byId) {
    this.clear();
    const points = [];
    for (const row of results) {
      const target = byId.get(row.target.id);
      if (!target?.point) continue;
      this.marker({ ...target, colour: row.colour }, { label: `${row.position}. ${target.name}` }).addTo(this.layer);
      points.push(target.point);
    }
    this.element.dataset.shown = `draw:${results.length}`;
    this.fit(points);
  }

  invalidate() {
    this.map.invalidateSize();
  }
}
