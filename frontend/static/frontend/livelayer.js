// UI module: what is happening now, on the map — reports, patrol units and alerts — kept up to
// date by a LiveConnection (live.js). One `apply(message)` with one switch over the event types
// of gridops/realtime/events.py. Leaflet is the global `L`.
/* global L */

// Marker colours by case status (gridops/lifecycle.py): nobody responsible yet is the loudest,
// then waiting to be taken on, then work in hand; finished cases are grey.
export const STATUS_COLOURS = {
  triage: "#dc2626",
  new: "#ea580c",
  escalated: "#d97706",
  registered: "#2563eb",
  dispatched: "#2563eb",
  accepted: "#0891b2",
  handling: "#0891b2",
  handled: "#7c3aed",
  verified: "#16a34a",
  suspended: "#94a3b8",
  closed: "#6b7280",
  not_registered: "#6b7280",
  referred: "#6b7280",
};

// Worst first: a cluster takes the colour of the most pressing report inside it.
const STATUS_RANK = Object.keys(STATUS_COLOURS);

const PANES = { alerts: 465, reports: 470, units: 480 };
const PULSE_MS = 4800;

function lonLat(point) {
  // Events carry [lon, lat]; REST rows carry GeoJSON {type: "Point", coordinates: [lon, lat]}.
  if (!point) return null;
  const [lon, lat] = Array.isArray(point) ? point : point.coordinates || [];
  return Number.isFinite(lon) && Number.isFinite(lat) ? [lat, lon] : null;
}

function teamCode(team) {
  return typeof team === "string" ? team : team?.code;
}

// Options: `cluster` groups dense report markers (leaflet.markercluster must be loaded);
// `onReport(row)` is called when a report marker is clicked; `onAlert(row)` on every alert event.
export function liveLayer(map, { colours, t, onReport, onAlert, cluster = false } = {}) {
  for (const [name, zIndex] of Object.entries(PANES)) {
    if (!map.getPane(name)) map.createPane(name).style.zIndex = String(zIndex);
  }
  const reports = new Map(); // id -> {row, marker}
  const units = new Map(); // id -> {row, marker}
  const alerts = new Map(); // id -> row
  const reportGroup = cluster
    ? L.markerClusterGroup({
        clusterPane: "reports",
        showCoverageOnHover: false,
        spiderfyOnMaxZoom: true,
        disableClusteringAtZoom: 16,
        maxClusterRadius: 40,
        chunkedLoading: true,
        iconCreateFunction: clusterIcon,
      })
    : L.layerGroup();
  const unitGroup = L.layerGroup();
  const alertGroup = L.layerGroup();
  const alertMarkers = new Map(); // id -> marker (open alerts with a place)

  function clusterIcon(group) {
    const statuses = group.getAllChildMarkers().map((m) => m.reportStatus);
    const worst = STATUS_RANK.find((s) => statuses.includes(s)) || "new";
    const count = group.getChildCount();
    const size = count < 10 ? 34 : count < 100 ? 40 : 48;
    return L.divIcon({
      className: `report-cluster status-${worst}`,
      html: `<span style="--status:${STATUS_COLOURS[worst]}">${count}</span>`,
      iconSize: [size, size],
    });
  }

  // A new report draws attention: an expanding ring at its place for a few seconds, in its own
  // element above the markers (clustered or not). It animates transform and opacity only, which the
  // compositor does alone: animating the SVG marker's stroke repainted the whole report layer every
  // frame (bench/ui.py: a whole core while events arrived).
  const pulses = L.layerGroup().addTo(map);
  function pulse(latlng) {
    const ring = L.marker(latlng, {
      pane: "reports",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: "report-pulse", iconSize: [44, 44], html: "<span></span>" }),
    });
    pulses.addLayer(ring);
    setTimeout(() => pulses.removeLayer(ring), PULSE_MS);
  }

  // Markers inside a cluster have no element until the cluster opens: the data attributes tests
  // and styles rely on are set whenever a marker is added to the map.
  function decorate(entry, { fresh = false } = {}) {
    if (fresh) pulse(entry.marker.getLatLng());
    const element = entry.marker.getElement();
    if (!element) return;
    element.dataset.reportId = String(entry.row.id);
    element.dataset.status = entry.row.status;
  }

  function reportStyle(row) {
    const colour = STATUS_COLOURS[row.status] || "#ea580c";
    return {
      pane: "reports",
      radius: row.priority ? 9 : 7,
      color: "#111827",
      weight: 1.5,
      fillColor: colour,
      fillOpacity: 0.95,
    };
  }

  function reportTooltip(row) {
    const who = row.team ? row.team.name : t.triage;
    const what = row.matter ? row.matter.name : t.noMatter;
    const repeat = row.repeat_count > 1 ? ` ×${row.repeat_count}` : "";
    return `${row.number} · ${what}${repeat}<br>${who}`;
  }

  // `batch` (an array) collects new markers for one addLayers() call: markercluster clusters a
  // snapshot of hundreds in one pass instead of re-clustering at each marker.
  function upsertReport(row, { fresh = false, batch = null } = {}) {
    const latlng = lonLat(row.point);
    if (!latlng) return;
    let entry = reports.get(row.id);
    const known = Boolean(entry);
    if (!entry) {
      const marker = L.circleMarker(latlng, reportStyle(row));
      entry = { row, marker };
      marker.on("click", () => onReport?.(entry.row));
      marker.on("add", () => decorate(entry));
      reports.set(row.id, entry);
    }
    const before = entry.row.status;
    entry.row = { ...entry.row, ...row };
    entry.marker.reportStatus = entry.row.status;
    entry.marker.setLatLng(latlng).setStyle(reportStyle(entry.row));
    entry.marker.bindTooltip(reportTooltip(entry.row));
    if (!known) {
      if (batch) batch.push(entry.marker);
      else reportGroup.addLayer(entry.marker);
    }
    else if (cluster && before !== entry.row.status) reportGroup.refreshClusters(entry.marker);
    decorate(entry, { fresh });
  }

  function upsertAlert(row) {
    alerts.set(row.id, row);
    const latlng = lonLat(row.point);
    let marker = alertMarkers.get(row.id);
    if (row.status !== "open" || !latlng) {
      if (marker) alertGroup.removeLayer(marker);
      alertMarkers.delete(row.id);
      return;
    }
    if (!marker) {
      marker = L.marker(latlng, {
        pane: "alerts",
        keyboard: false,
        icon: L.divIcon({ className: "alert-marker", iconSize: [34, 34], iconAnchor: [17, 17], html: "!" }),
      });
      marker.on("add", () => {
        const element = marker.getElement();
        if (element) element.dataset.alertId = String(row.id);
      });
      alertMarkers.set(row.id, marker);
      alertGroup.addLayer(marker);
    }
    marker.setLatLng(latlng).bindTooltip(row.message || "");
  }

  function unitIcon(row) {
    const colour = colours?.get(teamCode(row.team)) || "#0f2a4a";
    const heading = Number.isFinite(row.heading) ? row.heading : 0;
    const outside = row.outside_since ? " is-outside" : "";
    return L.divIcon({
      className: `unit-marker${outside}`,
      iconSize: [26, 26],
      iconAnchor: [13, 13],
      html:
        `<span class="unit-arrow" style="--team:${colour};transform:rotate(${heading}deg)"></span>` +
        `<span class="unit-kind">${t.unitKindShort?.[row.kind] || ""}</span>`,
    });
  }

  function upsertUnit(row) {
    const latlng = lonLat(row.point);
    if (!latlng) return;
    let entry = units.get(row.id);
    if (!entry) {
      const marker = L.marker(latlng, { pane: "units", icon: unitIcon(row), keyboard: false });
      entry = { row, marker };
      units.set(row.id, entry);
      marker.addTo(unitGroup);
    }
    entry.row = { ...entry.row, ...row };
    entry.marker.setLatLng(latlng).setIcon(unitIcon(entry.row));
    entry.marker.bindTooltip(`${entry.row.name}${entry.row.speed != null ? ` · ${Math.round(entry.row.speed)} km/h` : ""}`);
    const element = entry.marker.getElement();
    if (element) element.dataset.unitId = String(row.id);
  }

  function apply(message) {
    switch (message.type) {
      case "report.created":
        upsertReport(message.data, { fresh: true });
        break;
      case "report.updated":
      case "case.updated":
        upsertReport(message.data);
        break;
      case "unit.moved":
        upsertUnit(message.data);
        break;
      case "alert.raised":
      case "alert.updated":
        upsertAlert(message.data);
        onAlert?.(message.data, { fresh: message.type === "alert.raised" });
        break;
      default:
        break; // coverage.published: other pages
    }
  }

  return {
    reportGroup,
    unitGroup,
    alertGroup,
    apply,
    report(id) {
      return reports.get(id)?.row;
    },
    reportRows() {
      return [...reports.values()].map((e) => e.row);
    },
    alertRows() {
      return [...alerts.values()];
    },
    // Bring a report's marker into view (opening its cluster) and give it a ring. `padding`
    // ({paddingTopLeft, paddingBottomRight} in pixels) keeps it clear of panels over the map.
    focusReport(id, padding = {}) {
      const entry = reports.get(id);
      if (!entry) return;
      const show = () => {
        map.panInside(entry.marker.getLatLng(), { ...padding, animate: false });
        decorate(entry, { fresh: true });
      };
      if (cluster) reportGroup.zoomToShowLayer(entry.marker, show);
      else show();
    },
    loadReports(rows) {
      const batch = [];
      for (const row of rows) upsertReport(row, { batch });
      if (cluster) reportGroup.addLayers(batch);
      else for (const marker of batch) reportGroup.addLayer(marker);
    },
    loadUnits(rows) {
      for (const row of rows) upsertUnit(row);
    },
    loadAlerts(rows) {
      for (const row of rows) upsertAlert(row);
    },
    clear() {
      reports.clear();
      units.clear();
      alerts.clear();
      alertMarkers.clear();
      reportGroup.clearLayers();
      unitGroup.clearLayers();
      alertGroup.clearLayers();
    },
    counts() {
      const rows = [...reports.values()].map((e) => e.row);
      return {
        reports: rows.length,
        triage: rows.filter((r) => r.status === "triage").length,
        units: [...units.values()].filter((e) => e.row.point).length,
        alerts: [...alerts.values()].filter((a) => a.status === "open").length,
      };
    },
  };
}
