// Data module of the track replay: where each unit is at a moment, and the play clock.
// No DOM, no Leaflet: times are epoch milliseconds, points are [lon, lat].
//
// A track (GET /api/v1/units/{id}/track/) is a MultiLineString with one line per run of fixes
// without a gap > 300 s, its times nested like the coordinates, plus the isolated fixes (a fix
// alone between two gaps). A moment falls
//   before the first fix   → "before": at the first fix (no data yet),
//   inside a line          → "moving": interpolated between the two fixes around it,
//   between two pieces     → "gap":    at the last fix before it (never along a straight line
//                                      across the gap: nobody knows where the unit went),
//   after the last fix     → "after":  at the last fix.
//
//   fixes   ●──●──●──●          ●──●──●        ●
//   state   before│ moving │  gap  │ moving │gap│ after
//                 ▲ first fix                   ▲ last fix

const EARTH_RADIUS_M = 6371008.8;

// One unit's track as pieces sorted by time: lines ({times, coords, headings}) and isolated
// fixes (a piece of one fix). Times are parsed once here, not at every frame.
export function trackTimeline(feature) {
  const properties = feature?.properties || {};
  const lines = feature?.geometry?.coordinates || [];
  const pieces = lines.map((coords, k) => ({
    coords,
    times: (properties.times?.[k] || []).map((value) => Date.parse(value)),
    headings: properties.headings?.[k] || [],
    speeds: properties.speeds?.[k] || [],
    line: k,
  }));
  for (const fix of properties.isolated || []) {
    pieces.push({ coords: [fix.point], times: [Date.parse(fix.time)], headings: [fix.heading], speeds: [fix.speed], line: null });
  }
  pieces.sort((a, b) => a.times[0] - b.times[0]);
  return {
    pieces,
    first: pieces.length ? pieces[0].times[0] : null,
    last: pieces.length ? pieces[pieces.length - 1].times.at(-1) : null,
    count: properties.count ?? pieces.reduce((n, p) => n + p.times.length, 0),
  };
}

// Index of the last element of the sorted `values` that is ≤ `x` (−1 when none).
export function lastAtOrBefore(values, x) {
  let lo = 0;
  let hi = values.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

// Compass bearing (degrees from north, clockwise) from a to b; null when they are the same point.
export function bearing(a, b) {
  const dx = (b[0] - a[0]) * Math.cos(((a[1] + b[1]) / 2) * (Math.PI / 180));
  const dy = b[1] - a[1];
  if (dx === 0 && dy === 0) return null;
  return (Math.atan2(dx, dy) * (180 / Math.PI) + 360) % 360;
}

// Great-circle distance in metres (haversine).
export function distanceMetres(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

// The heading at fix i of a piece: the tracker's own if it sent one, else the direction of travel
// to the next (or from the previous) fix; null when unknown (a unit that never moved).
function headingAt(piece, i) {
  const own = piece.headings[i];
  if (own !== null && own !== undefined && Number.isFinite(Number(own))) return Number(own);
  const { coords } = piece;
  for (let j = i; j + 1 < coords.length; j += 1) {
    const b = bearing(coords[j], coords[j + 1]);
    if (b !== null) return b;
  }
  for (let j = i; j > 0; j -= 1) {
    const b = bearing(coords[j - 1], coords[j]);
    if (b !== null) return b;
  }
  return null;
}

// Where the unit is at `time`: {state, point, heading, piece, index, fraction, since, until}.
// `piece`/`index` name the fix at or before `time` (the travelled part ends there); `since` and
// `until` bound a gap. null for a track without a single fix.
export function positionAt(timeline, time) {
  const { pieces } = timeline;
  if (!pieces.length) return null;
  const starts = pieces.map((p) => p.times[0]);
  const k = lastAtOrBefore(starts, time);
  if (k < 0) {
    const first = pieces[0];
    return { state: "before", point: first.coords[0], heading: headingAt(first, 0), piece: -1, index: -1, fraction: 0, since: null, until: first.times[0] };
  }
  const piece = pieces[k];
  const lastIndex = piece.times.length - 1;
  if (time <= piece.times[lastIndex]) {
    const i = Math.min(lastAtOrBefore(piece.times, time), Math.max(0, lastIndex - 1));
    if (lastIndex === 0) {
      return { state: "moving", point: piece.coords[0], heading: headingAt(piece, 0), piece: k, index: 0, fraction: 0, since: null, until: null };
    }
    const t0 = piece.times[i];
    const t1 = piece.times[i + 1];
    const fraction = t1 > t0 ? Math.min(1, Math.max(0, (time - t0) / (t1 - t0))) : 0;
    const a = piece.coords[i];
    const b = piece.coords[i + 1];
    const point = [a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction];
    return { state: "moving", point, heading: headingAt(piece, i), piece: k, index: i, fraction, since: null, until: null };
  }
  const next = pieces[k + 1];
  return {
    state: next ? "gap" : "after",
    point: piece.coords[lastIndex],
    heading: headingAt(piece, lastIndex),
    piece: k,
    index: lastIndex,
    fraction: 0,
    since: piece.times[lastIndex],
    until: next ? next.times[0] : null,
  };
}

// The play clock: replay time advances `speed` times as fast as the wall clock while playing.
// `now` is a monotonic wall-clock reading in ms (requestAnimationFrame's timestamp or
// performance.now()), passed in so the clock is testable without a browser.
export class PlayClock {
  constructor({ start, end, speed = 1 }) {
    this.start = start;
    this.end = end;
    this.speed = speed;
    this.time = start;
    this.playing = false;
    this.lastNow = null;
  }

  seek(time) {
    this.time = Math.min(this.end, Math.max(this.start, time));
    return this.time;
  }

  play(now) {
    if (this.time >= this.end) this.time = this.start;
    this.playing = true;
    this.lastNow = now;
  }

  pause(now) {
    if (this.playing && now !== undefined) this.tick(now);
    this.playing = false;
    this.lastNow = null;
  }

  // A new speed counts from now on: the time played so far at the old speed is banked first.
  setSpeed(speed, now) {
    if (this.playing && now !== undefined) this.tick(now);
    this.speed = speed;
  }

  // Advance to `now`; the clock stops by itself at the end of the range.
  tick(now) {
    if (!this.playing) return this.time;
    if (this.lastNow !== null) this.time += Math.max(0, now - this.lastNow) * this.speed;
    this.lastNow = now;
    if (this.time >= this.end) {
      this.time = this.end;
      this.playing = false;
      this.lastNow = null;
    }
    return this.time;
  }
}
