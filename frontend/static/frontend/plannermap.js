// UI module of the planner page: the map. Cells are filled with the colour of the team whose zone
// covers them in the domain shown; gap cells are hatched red, overlap cells outlined purple, the
// selected zone's cells outlined dark, marked cells dashed amber. Polygons are drawn with
// Leaflet-Geoman (snapping to cell and township edges); what they select is decided by the server
// (cells-in), never here. Leaflet and Geoman are the globals loaded before the page's modules.
/* global L */

import { countyMap, loadCountyLayers } from "./countymap.js";

const GAP_STROKE = "#dc2626";
const OVERLAP_STROKE = "#7e22ce";
const SELECTED_STROKE = "#111827";
const MARK_STROKE = "#f59e0b";
const EMPTY_FILL = "#ffffff";

export class PlannerMap {
  constructor(element, state, t, { language, onCellClick, onPolygon, onDrawEnd }) {
    this.element = element;
    this.t = t;
    const { map, baseLayers, showBasemap } = countyMap(element, state, t);
    this.map = map;
    this.showBasemap = showBasemap;
    this.layersControl = L.control.layers(baseLayers, {}, { collapsed: true, position: "topright" }).addTo(map);
    this.cellLayers = new Map(); // cell id → L.Path
    this.cellGroup = L.featureGroup().addTo(map);
    this.onCellClick = onCellClick;
    this.drawing = false;

    // Geoman: polygons only, snapping on, no self-intersection; its hints in the page's language.
    map.pm.setLang(language.startsWith("zh") ? "zh" : "en");
    map.pm.setGlobalOptions({ snappable: true, snapDistance: 14, allowSelfIntersection: false });
    map.on("pm:create", (event) => {
      const geometry = event.layer.toGeoJSON().geometry;
      event.layer.remove();
      this.drawing = false;
      onPolygon(geometry);
    });
    map.on("pm:drawend", () => {
      this.drawing = false;
      onDrawEnd();
    });
    document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));
  }

  // Townships, villages and their names from the shared county layers; returns those layers.
  async loadCounty(state) {
    const layers = await loadCountyLayers(this.map, state);
    layers.frame(20);
    layers.villageGroup.addTo(this.map);
    layers.townshipGroup.addTo(this.map);
    layers.labelGroup.addTo(this.map);
    this.layersControl.addOverlay(layers.townshipGroup, this.t.layerTownships);
    this.layersControl.addOverlay(layers.villageGroup, this.t.layerVillages);
    this.layersControl.addOverlay(layers.labelGroup, this.t.layerLabels);
    this.layersControl.addOverlay(this.cellGroup, this.t.layerCells);
    this.showBasemap();
    return layers;
  }

  // The cells (GeoJSON features with a `code`) under their planning ids.
  setCells(collection, idByCode) {
    this.cellGroup.clearLayers();
    this.cellLayers.clear();
    L.geoJSON(collection, {
      pane: "cells",
      style: { color: "#64748b", weight: 1, opacity: 0.8, fillColor: EMPTY_FILL, fillOpacity: 0.15 },
      onEachFeature: (feature, layer) => {
        const id = idByCode.get(feature.properties.code);
        if (id === undefined) return;
        layer.cellId = id;
        layer.bindTooltip(`${feature.properties.name}（${feature.properties.code}）`, { sticky: true });
        layer.on("click", () => {
          if (!this.drawing) this.onCellClick(id);
        });
        layer.on("add", () => {
          const path = layer.getElement();
          if (path) {
            path.classList.add("planner-cell");
            path.dataset.cellCode = feature.properties.code;
            path.dataset.cellId = String(id);
          }
        });
        this.cellLayers.set(id, layer);
        this.cellGroup.addLayer(layer);
      },
    });
  }

  // Restyle every cell for the domain shown: coverage (cell id → zones), team colours, the selected
  // zone, the marked cells and the validation problems of that domain.
  render({ coverage, colourOf, selectedZoneId, marks, problems }) {
    for (const [id, layer] of this.cellLayers) {
      const zones = coverage.get(id) || [];
      const isGap = problems.gaps.has(id);
      const isOverlap = problems.overlaps.has(id) || zones.length > 1;
      const selected = zones.some((z) => z.id === selectedZoneId);
      const marked = marks.has(id);
      const fill = zones.length ? colourOf(zones[0].team.code) : EMPTY_FILL;
      let style = { color: "#475569", weight: 1, opacity: 0.8, dashArray: null, fillColor: fill, fillOpacity: zones.length ? 0.45 : 0.15 };
      if (isGap) style = { ...style, color: GAP_STROKE, weight: 2, fillOpacity: 0.8 };
      if (isOverlap) style = { ...style, color: OVERLAP_STROKE, weight: 3.5, opacity: 1 };
      if (selected) style = { ...style, color: isOverlap ? OVERLAP_STROKE : SELECTED_STROKE, weight: 3.5, opacity: 1, fillOpacity: 0.65 };
      if (marked) style = { ...style, color: MARK_STROKE, weight: 3.5, opacity: 1, dashArray: "6 4" };
      layer.setStyle(style);
      const path = layer.getElement();
      if (path) {
        path.classList.toggle("is-gap", isGap);
        path.dataset.state = isGap ? "gap" : isOverlap ? "overlap" : zones.length ? "covered" : "empty";
        path.dataset.zones = zones.map((z) => z.id).join(",");
        path.dataset.selected = String(selected);
        path.dataset.marked = String(marked);
      }
      if (isOverlap || selected || marked) layer.bringToFront();
    }
  }

  zoomToCell(id) {
    const layer = this.cellLayers.get(id);
    if (!layer) return;
    this.map.fitBounds(layer.getBounds(), { maxZoom: Math.min(this.map.getMaxZoom(), 16), padding: [60, 60] });
    layer.openTooltip(layer.getBounds().getCenter());
  }

  startDraw() {
    this.drawing = true;
    this.map.pm.enableDraw("Polygon", { snappable: true, snapDistance: 14, allowSelfIntersection: false });
  }

  cancelDraw() {
    this.drawing = false;
    this.map.pm.disableDraw();
  }
}
