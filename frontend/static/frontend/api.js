// Data module: talks to /api/v1/ and returns plain data. No DOM, no Leaflet.

export class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }

  // The first field-level message of a 400 body {"field": ["message"]} (or DRF's "detail").
  get fieldMessage() {
    if (!this.body || typeof this.body !== "object") return "";
    for (const value of Object.values(this.body)) {
      if (Array.isArray(value) && value.length) return String(value[0]);
      if (typeof value === "string") return value;
    }
    return "";
  }
}

function withParams(url, params = {}) {
  const full = new URL(url, window.location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") full.searchParams.set(key, value);
  }
  return full.toString();
}

export async function getJSON(url, { params, signal } = {}) {
  const response = await fetch(withParams(url, params), {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
    signal,
  });
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    // An abort while the body streams in is still an abort, not an empty answer: callers that
    // ignore AbortError must not go on to read a null page.
    if (error.name === "AbortError" || signal?.aborted) throw error;
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// Every feature of a paginated GeoJSON FeatureCollection: follows `next` until null.
export async function getAllFeatures(url, { params, signal } = {}) {
  const features = [];
  let next = withParams(url, { page_size: 5000, ...params });
  while (next) {
    const page = await getJSON(next, { signal });
    features.push(...(page.features || []));
    next = page.next;
  }
  return { type: "FeatureCollection", features };
}

// Every row of a paginated list: JSON {"count","next","previous","results"}, a bare list, or a
// GeoJSON FeatureCollection whose rows are the features' properties (teams carry a base point).
export async function getAllResults(url, { params, signal } = {}) {
  const rows = [];
  let next = withParams(url, { page_size: 5000, ...params });
  while (next) {
    const page = await getJSON(next, { signal });
    if (Array.isArray(page)) return page;
    if (page.features) rows.push(...page.features.map((f) => f.properties));
    else rows.push(...(page.results || []));
    next = page.next;
  }
  return rows;
}

// The team of a zone feature: nested {code, name, kind} (as served) or flat team_code/team_name.
export function zoneTeamCode(properties) {
  return properties.team?.code ?? properties.team_code;
}

export function regions(api, { levels, simplify, signal } = {}) {
  // One request per level keeps us on the documented single-value `level` filter.
  return Promise.all(
    levels.map((level) => getAllFeatures(api.regions, { params: { level, simplify }, signal })),
  ).then((collections) => ({
    type: "FeatureCollection",
    features: collections.flatMap((c) => c.features),
  }));
}

export function cellsInBbox(api, { bounds, zoom, signal }) {
  const bbox = [bounds.west, bounds.south, bounds.east, bounds.north].map((v) => v.toFixed(6)).join(",");
  return getAllFeatures(api.cells, { params: { bbox, zoom }, signal });
}

export function publishedZones(api, { signal } = {}) {
  return getAllFeatures(api.zones, { params: { version: "published" }, signal });
}

export function teams(api, { signal } = {}) {
  return getAllResults(api.teams, { signal });
}

export function activeMatters(api, { signal } = {}) {
  return getAllResults(api.matters, { params: { active: "true" }, signal });
}

export function route(api, { lon, lat, matter, signal }) {
  return getJSON(api.route, {
    params: { lon: lon.toFixed(6), lat: lat.toFixed(6), matter },
    signal,
  });
}

// Today's reports (newest first, one page), the units with their live positions, open alerts.
export async function recentReports(api, { since, signal } = {}) {
  const page = await getJSON(api.reports, { params: { since, page_size: 200 }, signal });
  return page.results || [];
}

export function units(api, { team, signal } = {}) {
  return getAllResults(api.units, { params: { team }, signal });
}

export function openAlerts(api, { signal } = {}) {
  return getAllResults(api.alerts, { params: { status: "open" }, signal });
}

// Send a body with the session's CSRF token: a FormData as multipart, anything else as JSON, none
// at all when undefined. Answers the parsed body (null for 204) or throws ApiError.
export async function send(method, url, body, { csrfToken, signal } = {}) {
  const multipart = body instanceof FormData;
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken || "" };
  if (!multipart && body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: multipart || body === undefined ? body : JSON.stringify(body),
    signal,
  });
  let parsed = null;
  if (response.status !== 204) {
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export function postJSON(url, body, options = {}) {
  return send("POST", url, body ?? {}, options);
}

// Open reports (every page, oldest deadline problems included) for the command centre's queue.
// The newest `max` of them: a county that never closes anything must not stall the wall.
export async function openReports(api, { signal, max = 2000 } = {}) {
  const rows = [];
  let next = withParams(api.reports, { open: "true", page_size: 200 });
  while (next && rows.length < max) {
    const page = await getJSON(next, { signal });
    rows.push(...(page.results || []));
    next = page.next;
  }
  return rows.slice(0, max);
}

export function report(api, id, { signal } = {}) {
  return getJSON(`${api.reports}${id}/`, { signal });
}

export function caseRecommend(api, id, { signal } = {}) {
  return getJSON(`${api.reports}${id}/recommend/`, { signal });
}

// One step of the closed loop; with files (after-photos) as multipart, otherwise JSON.
export function caseStep(api, id, { fields, files = [], csrfToken }) {
  const url = `${api.reports}${id}/transition/`;
  if (!files.length) return postJSON(url, fields, { csrfToken });
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const file of files) form.append("photos", file);
  return send("POST", url, form, { csrfToken });
}

export function reportAssign(api, id, { team, note, csrfToken }) {
  return postJSON(`${api.reports}${id}/assign/`, { team, note }, { csrfToken });
}

export function alertAcknowledge(api, id, { csrfToken }) {
  return postJSON(`${api.alerts}${id}/acknowledge/`, {}, { csrfToken });
}

export function summary(api, { signal } = {}) {
  return getJSON(api.summary, { signal });
}

export function cameras(api, { signal } = {}) {
  return getJSON(api.cameras, { signal });
}
