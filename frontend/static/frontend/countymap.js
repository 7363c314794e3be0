// The county on a Leaflet map, shared by the home page and the command centre: the map with its
// panes and basemap, and the administrative and coverage layers loaded over REST.
/* global L */

import * as api from "./api.js";
import { el } from "./dom.js";
import { createPanes, teamColours, townshipLabelLayer, townshipLayer, villageLayer, zoneLayer } from "./layers.js";

// The map at the configured view. No basemap unless settings give a tile template: nothing is
// requested from anywhere else. `showBasemap()` is called once the county is framed, so no tile of
// the default view is fetched for nothing.
export function countyMap(element, state, t) {
  const map = L.map(element, {
    center: state.map.center,
    zoom: state.map.zoom,
    minZoom: state.map.minZoom,
    maxZoom: state.map.maxZoom,
  });
  createPanes(map);
  map.attributionControl.setPrefix("Leaflet");
  const baseLayers = {};
  const basemap = state.tiles.url
    ? L.tileLayer(state.tiles.url, { attribution: state.tiles.attribution, maxZoom: state.map.maxZoom })
    : null;
  if (basemap) {
    baseLayers[t.basemap] = basemap;
    baseLayers[t.noBasemap] = L.layerGroup();
    element.classList.add("has-basemap");
  }
  return {
    map,
    baseLayers,
    showBasemap() {
      if (basemap && !map.hasLayer(basemap)) basemap.addTo(map);
    },
  };
}

// County outline, townships, villages, the published zones and the teams, with their layers.
export async function loadCountyLayers(map, state) {
  const simplify = "0.0002";
  const [county, townships, villages, zones, teamRows] = await Promise.all([
    api.regions(state.api, { levels: ["county"], simplify }),
    api.regions(state.api, { levels: state.levels.township, simplify }),
    api.regions(state.api, { levels: state.levels.village, simplify }),
    api.publishedZones(state.api),
    api.teams(state.api),
  ]);
  const colours = teamColours(zones.features.map((f) => api.zoneTeamCode(f.properties)));
  // Zones of different domains overlap; one domain is shown at a time, comprehensive first.
  const domains = [...new Set(zones.features.map((f) => f.properties.domain))].sort((a, b) =>
    a === "comprehensive" ? -1 : b === "comprehensive" ? 1 : a.localeCompare(b),
  );
  const townshipGroup = townshipLayer(townships);
  return {
    county,
    townships,
    villages,
    zones,
    teamRows,
    colours,
    domains,
    zoneGroup: zoneLayer(zones, colours),
    townshipGroup,
    villageGroup: villageLayer(villages),
    labelGroup: townshipLabelLayer(map, townships),
    // Draw the county's layers (zones under villages under townships, names on top, then the
    // cells layer and any `extra` overlays) and the layer switch listing them, `extra` last.
    show(cells, baseLayers, t, { extra = {}, position = "topright" } = {}) {
      const overlays = {
        [t.layerTownships]: this.townshipGroup,
        [t.layerLabels]: this.labelGroup,
        [t.layerVillages]: this.villageGroup,
        [t.layerCells]: cells,
        [t.layerZones]: this.zoneGroup,
        ...extra,
      };
      for (const layer of [this.zoneGroup, this.villageGroup, this.townshipGroup, this.labelGroup, cells]) {
        layer.addTo(map);
      }
      return L.control.layers(baseLayers, overlays, { collapsed: false, position }).addTo(map);
    },
    // Frame the county before drawing anything, so the first paint is of the final view (and no
    // cell request is made for the default view only to be thrown away).
    frame(padding) {
      const extent = county.features.length ? L.geoJSON(county) : townshipGroup;
      const bounds = extent.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [padding, padding], animate: false });
    },
  };
}

// The domain picker of the zone layer: one option per domain with zones, then "all".
export function fillDomainSelect(select, domains, state, t) {
  select.replaceChildren(
    ...domains.map((d) => el("option", { text: state.domains[d] || d, attrs: { value: d } })),
    el("option", { text: t.allDomains, attrs: { value: "" } }),
  );
}
