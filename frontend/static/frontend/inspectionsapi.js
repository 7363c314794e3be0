// Data module of the inspection planning page: /api/v1/inspections/ as plain data. No DOM, no Leaflet.
// Addresses come from the page state (`state.api`); per-object ones are templates with "{id}".

import { ApiError, getAllResults, getJSON, postJSON, send } from "./api.js";

export { ApiError };

const at = (template, id) => template.replace("{id}", String(id));

// Draw seeds are 63-bit integers: JSON.parse would round them to the nearest double, so a draw's
// answer is parsed with its seeds kept as strings (digits only; a "seed" inside a string is escaped).
async function getDrawJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text.replace(/(?<!\\)"seed":(\d+)/g, '"seed":"$1"'));
  } catch {
    body = null;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export class InspectionsApi {
  constructor(state) {
    this.urls = state.api;
    this.csrfToken = state.csrfToken;
  }

  // Targets: {township, industry, colour: [..], no_disturbance, q}; every page.
  targets(filters = {}, { signal } = {}) {
    const url = new URL(this.urls.targets, window.location.origin);
    for (const [key, value] of Object.entries(filters)) {
      for (const one of Array.isArray(value) ? value : [value]) {
        if (one !== undefined && one !== null && one !== "") url.searchParams.append(key, one);
      }
    }
    return getAllResults(url.toString(), { signal });
  }

  target(id, { signal } = {}) {
    return getJSON(at(this.urls.target, id), { signal });
  }

  // The import: dry run unless `commit`; answers {rows, valid, created, updated, committed, problems}.
  importTargets(file, { commit = false, skipBad = false } = {}) {
    const form = new FormData();
    form.append("file", file);
    form.append("commit", commit ? "true" : "false");
    form.append("skip_bad", skipBad ? "true" : "false");
    return send("POST", this.urls.targetImport, form, { csrfToken: this.csrfToken });
  }

  inspectors({ signal } = {}) {
    return getAllResults(this.urls.inspectors, { signal });
  }

  plans(period, { signal } = {}) {
    return getAllResults(this.urls.plans, { params: period, signal });
  }

  // period: {year, month?}; radius in metres.
  proposals(period, radius, { signal } = {}) {
    return getJSON(this.urls.proposals, { params: { ...period, radius_m: radius }, signal });
  }

  commitProposals(period, radius, keys) {
    return postJSON(this.urls.proposals, { ...period, radius_m: radius, ...(keys ? { keys } : {}) }, { csrfToken: this.csrfToken });
  }

  visits({ start, end }, { signal } = {}) {
    return getAllResults(this.urls.visits, { params: { start, end }, signal });
  }

  openCase(visitId) {
    return postJSON(at(this.urls.visitOpenCase, visitId), {}, { csrfToken: this.csrfToken });
  }

  draws({ signal } = {}) {
    return getAllResults(this.urls.draws, { signal });
  }

  draw(id) {
    return getDrawJSON(at(this.urls.draw, id));
  }

  // Runs a draw (a typed seed goes as a string of digits: the API reads it exactly) and answers
  // the stored draw, read again with its seed intact.
  async runDraw(body) {
    const created = await postJSON(this.urls.draws, body, { csrfToken: this.csrfToken });
    return this.draw(created.id);
  }

  replay(id) {
    return getDrawJSON(at(this.urls.drawReplay, id));
  }

  // One case per drawn check (dispatchers); answers the draw with each check's case.
  async openDrawCases(id) {
    await postJSON(at(this.urls.drawOpenCases, id), {}, { csrfToken: this.csrfToken });
    return this.draw(id); // read again: the seed is kept exact only by getDrawJSON
  }

  publish(id) {
    return postJSON(at(this.urls.drawPublish, id), {}, { csrfToken: this.csrfToken });
  }

  caseRecordUrl(id) {
    return at(this.urls.caseRecord, id);
  }
}
