// Data module of the planner page: the coverage-planning REST calls (docs/PLANNING.md). No DOM, no
// Leaflet. Every edit names the draft revision it was based on; a stale one rejects with ApiError
// status 409 and body {"revision": [...], "current_revision": n}.

import { ApiError, getAllFeatures, getAllResults, getJSON, postJSON, send as sendJSON } from "./api.js";

export { ApiError };

// "/api/v1/coverage-versions/{id}/validate/" → with the id filled in; null when not served.
function versionUrl(planning, key, id) {
  const template = planning.version[key];
  return template ? template.replace("{id}", String(id)) : null;
}

export class PlanningApi {
  constructor(state) {
    this.planning = state.planning;
    this.api = state.api;
    this.csrfToken = state.csrfToken;
  }

  served(key) {
    return Boolean(this.planning.version[key]);
  }

  versions() {
    return getAllResults(this.planning.versions);
  }

  membership(id) {
    return getJSON(versionUrl(this.planning, "membership", id));
  }

  // Every cell valid today, full geometry (the editor clicks on cell edges).
  cells() {
    return getAllFeatures(this.api.cells, { params: { zoom: 14 } });
  }

  regions(level) {
    return getAllResults(this.api.regions, { params: { level, geometry: "0" } });
  }

  teams() {
    return getAllResults(this.api.teams);
  }

  draftCreate(name) {
    return postJSON(this.planning.versions, { name }, { csrfToken: this.csrfToken });
  }

  cellsIn(id, selection) {
    return postJSON(versionUrl(this.planning, "cellsIn", id), selection, { csrfToken: this.csrfToken });
  }

  validate(id) {
    return getJSON(versionUrl(this.planning, "validate", id));
  }

  zoneSetCells(zoneId, { cells, revision }) {
    const url = this.planning.zone.replace("{id}", String(zoneId));
    return sendJSON("PATCH", url, { cells, revision }, { csrfToken: this.csrfToken });
  }

  // Team, domain and/or name of a zone (the same PATCH as the cells, one revision).
  zoneUpdate(zoneId, { revision, ...changes }) {
    const url = this.planning.zone.replace("{id}", String(zoneId));
    return sendJSON("PATCH", url, { ...changes, revision }, { csrfToken: this.csrfToken });
  }

  zoneDelete(zoneId, { revision }) {
    const url = new URL(this.planning.zone.replace("{id}", String(zoneId)), window.location.origin);
    url.searchParams.set("revision", String(revision));
    return sendJSON("DELETE", url.toString(), undefined, { csrfToken: this.csrfToken });
  }

  zoneCreate(id, { team, name, domain, cells, revision }) {
    return postJSON(
      versionUrl(this.planning, "zones", id),
      { team, name, domain, cells, revision },
      { csrfToken: this.csrfToken },
    );
  }

  zoneSplit(id, { zone, cells, name, revision }) {
    return postJSON(
      versionUrl(this.planning, "split", id),
      { zone, cells, name, revision },
      { csrfToken: this.csrfToken },
    );
  }

  zoneMerge(id, { zones, name, revision }) {
    return postJSON(versionUrl(this.planning, "merge", id), { zones, name, revision }, { csrfToken: this.csrfToken });
  }

  publish(id, { effectiveFrom, overrideReason, revision }) {
    return postJSON(
      versionUrl(this.planning, "publish", id),
      { effective_from: effectiveFrom, override_reason: overrideReason, revision },
      { csrfToken: this.csrfToken },
    );
  }

  rollback(id, { effectiveFrom }) {
    return postJSON(
      versionUrl(this.planning, "rollback", id),
      { effective_from: effectiveFrom },
      { csrfToken: this.csrfToken },
    );
  }

  // Figures and diff are served by gridops; null when not (yet) wired up: the page does without.
  figures(id, { signal } = {}) {
    const url = versionUrl(this.planning, "figures", id);
    return url ? getJSON(url, { signal }) : Promise.resolve(null);
  }

  diff(id, against, { signal } = {}) {
    const url = versionUrl(this.planning, "diff", id);
    return url ? getJSON(url, { params: { against }, signal }) : Promise.resolve(null);
  }
}
