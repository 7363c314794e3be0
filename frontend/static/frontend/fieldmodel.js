// Data module of the officer's page: the three lists, their order, deadlines, distances and the
// map apps' addresses. No DOM, no Leaflet.
//
// A case is in one list at most:
//   waiting   dispatched to my team (those dispatched to one of its units stand out)
//   inHand    accepted or being handled, by me
//   toVerify  handled by me, waiting for someone else to verify it
// Rows come from the page state / `/field/cases/` (REST list shape + handler_id, assigned_unit) and
// from live events (`case.updated` carries handler_id and assigned_unit; `report.created` does not,
// so a row keeps what it knew).

import { duration, fill } from "./dom.js";

export { duration };

export const SECTIONS = ["waiting", "inHand", "toVerify"];
const MINUTE = 60_000;

export function sectionOf(row, { userId, teamCode }) {
  if (!row || !row.team || row.team.code !== teamCode) return null;
  if (row.status === "dispatched") return "waiting";
  if (row.handler_id !== userId) return null;
  if (row.status === "accepted" || row.status === "handling") return "inHand";
  if (row.status === "handled") return "toVerify";
  return null;
}

// Live payloads carry the point as [lon, lat] and a photo count as `photos`; list rows as GeoJSON
// and `photo_count`. One shape for the page: point [lon, lat].
export function normalize(row) {
  const out = { ...row };
  const point = row.point;
  if (point && !Array.isArray(point) && Array.isArray(point.coordinates)) out.point = point.coordinates;
  if (typeof row.photos === "number") {
    out.photo_count = row.photos;
    delete out.photos;
  }
  return out;
}

// Time left to the deadline: {text, overdue, soon} (soon: under two hours).
export function clock(row, t, now = Date.now()) {
  if (!row.due_at) return { text: t.noDeadline, overdue: false, soon: false };
  const left = new Date(row.due_at).getTime() - now;
  if (left < 0) return { text: fill(t.overdueBy, { t: duration(left, t) }), overdue: true, soon: false };
  return { text: fill(t.timeLeft, { t: duration(left, t) }), overdue: false, soon: left < 120 * MINUTE };
}

// Great-circle distance in metres between two [lon, lat] points.
export function distanceMetres(a, b) {
  if (!a || !b) return null;
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function distanceText(metres, t) {
  if (metres === null || metres === undefined) return t.noFix;
  if (metres < 1000) return fill(t.metres, { n: Math.round(metres / 10) * 10 });
  return fill(t.kilometres, { n: (metres / 1000).toFixed(metres < 10_000 ? 1 : 0) });
}

// Most urgent first: urgent priority, then overdue, then the nearest deadline, then the newest.
export function compareRows(a, b, now = Date.now()) {
  const urgent = (b.priority || 0) - (a.priority || 0);
  if (urgent) return urgent;
  const due = (row) => (row.due_at ? new Date(row.due_at).getTime() : Infinity);
  const overdue = Number(due(b) < now) - Number(due(a) < now);
  if (overdue) return overdue;
  if (due(a) !== due(b)) return due(a) - due(b);
  return (b.received_at || "").localeCompare(a.received_at || "") || b.id - a.id;
}

// The phone's map apps: `geo:` (Android's generic intent) and AMap's web URI, which opens the
// AMap app when installed (callnative=1) and converts from WGS-84 itself (coordinate=wgs84).
export function navigationLinks(point, name) {
  const [lon, lat] = point.map((v) => Number(v).toFixed(6));
  const label = encodeURIComponent(name || "");
  return {
    geo: `geo:${lat},${lon}?q=${lat},${lon}`,
    amap: `https://uri.amap.com/marker?position=${lon},${lat}&name=${label}&coordinate=wgs84&callnative=1&src=gridops`,
  };
}

// The officer's cases. `apply(row)` answers what happened to it, for the page to tell the officer.
export class FieldCases {
  constructor({ userId, teamCode }) {
    this.who = { userId, teamCode };
    this.rows = new Map(); // id → row (normalized)
  }

  sectionOf(row) {
    return sectionOf(row, this.who);
  }

  // Replace everything (first paint, reload after a lost place in the stream).
  reset(rows) {
    this.rows.clear();
    for (const row of rows) {
      const normal = normalize(row);
      if (this.sectionOf(normal)) this.rows.set(normal.id, normal);
    }
  }

  // A live payload or a fresh row: {id, before, after, row} with the sections it left and entered.
  apply(payload) {
    const incoming = normalize(payload);
    const previous = this.rows.get(incoming.id);
    const merged = { ...(previous || {}), ...incoming };
    // An event without handler_id (report.created / report.updated) says nothing about the handler.
    if (!("handler_id" in incoming) && previous) merged.handler_id = previous.handler_id;
    const before = previous ? this.sectionOf(previous) : null;
    const after = this.sectionOf(merged);
    if (after) this.rows.set(merged.id, merged);
    else this.rows.delete(merged.id);
    return { id: merged.id, before, after, row: merged, known: Boolean(previous) };
  }

  get(id) {
    return this.rows.get(id) || null;
  }

  list(section, now = Date.now()) {
    return [...this.rows.values()].filter((row) => this.sectionOf(row) === section).sort((a, b) => compareRows(a, b, now));
  }

  count(section) {
    let n = 0;
    for (const row of this.rows.values()) if (this.sectionOf(row) === section) n += 1;
    return n;
  }
}
