// The coverage editor (/planner/): planners look at the published coverage and its history, open
// drafts, and redraw which team covers which grid cells. State comes from the json_script block
// "planner-state". Data: plannerapi.js (REST) and plannermodel.js (the version being edited); UI:
// plannermap.js (map, Geoman) and plannerpanel.js (panels, diff). This module wires them up.
//
// Every edit is one request naming the draft revision the page holds; a 409 (someone else saved
// first) shows a banner and blocks further edits until the draft is reloaded: nothing is
// overwritten silently. After every edit the draft is validated again and the figures refreshed.

import { el, fill, timeFormatter } from "./dom.js";
import { teamColours } from "./layers.js";
import { ApiError, PlanningApi } from "./plannerapi.js";
import { PlannerMap } from "./plannermap.js";
import { PlanModel } from "./plannermodel.js";
import { renderDiff, renderDomains, renderFigures, renderLegend, renderValidation, renderVersions, renderZones } from "./plannerpanel.js";

const FIGURES_DEBOUNCE_MS = 800;

const state = JSON.parse(document.getElementById("planner-state").textContent);
const t = state.i18n;
const language = document.documentElement.lang || "zh-hans";
const api = new PlanningApi(state);
const model = new PlanModel();
const $ = (id) => document.getElementById(id);
const root = $("planner");
const timeText = timeFormatter(language, state.timeZone, { seconds: false });

let versions = [];
let teams = [];
let domain = "comprehensive";
let selectedZoneId = null;
let busy = false;
let colours = new Map();
let fallbackColours = new Map();
let figuresTimer = null;
let figuresAbort = null;
let figuresSort = null;
let lastFigures = null;

const colourOf = (code) => colours.get(code) || fallbackColours.get(code) || "#7f7f7f";

// --- messages -----------------------------------------------------------------------------------
let statusTimer = null;
function showStatus(message, { error = false, sticky = false } = {}) {
  const status = $("map-status");
  status.textContent = message || "";
  status.hidden = !message;
  status.classList.toggle("is-error", error);
  clearTimeout(statusTimer);
  if (message && !sticky) statusTimer = setTimeout(() => showStatus(""), error ? 8000 : 3000);
}

function errorText(error) {
  if (error instanceof ApiError) return error.fieldMessage || `HTTP ${error.status}`;
  return String(error?.message || error);
}

function showStale(currentRevision) {
  model.stale = currentRevision;
  $("stale-text").textContent = fill(t.stale, { n: currentRevision });
  $("stale-banner").hidden = false;
  root.dataset.stale = "true";
}

function hideStale() {
  $("stale-banner").hidden = true;
  root.dataset.stale = "false";
}

// --- time ---------------------------------------------------------------------------------------
// "YYYY-MM-DDTHH:MM" now in the county's time zone (for datetime-local inputs), whatever the browser's.
function localInputNow() {
  const parts = new Intl.DateTimeFormat("sv-SE", {
    timeZone: state.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
  }).format(new Date());
  return parts.replace(" ", "T");
}

// The input's wall-clock time in Asia/Shanghai as ISO 8601 with the county's offset (no DST there).
function inputToIso(value) {
  if (!value) return null;
  const offset = state.now.slice(-6);
  return `${value.length === 16 ? `${value}:00` : value}${offset}`;
}

// --- map ----------------------------------------------------------------------------------------
const pmap = new PlannerMap($("map"), state, t, {
  language,
  onCellClick: (id) => cellClicked(id),
  onPolygon: (geometry) => polygonDrawn(geometry),
  onDrawEnd: () => drawButtons(false),
});

function mode() {
  return document.querySelector("input[name='mode']:checked")?.value || "add";
}

function render() {
  const zones = model.zonesOfDomain(domain);
  renderDomains($("domain-select"), model.domains(), domain, state.domains);
  renderZones($("zone-list"), zones, { selectedId: selectedZoneId, colourOf, t, onSelect: selectZone });
  renderLegend($("legend"), zones, { colourOf, t });
  pmap.render({
    coverage: model.coverage(domain),
    colourOf,
    selectedZoneId,
    marks: model.marks,
    problems: model.problemCells(domain),
  });
  renderValidation($("validation"), $("validation-badge"), model.validation, {
    t,
    domains: state.domains,
    cellName: (code) => cellLabel(code),
    onCell: problemClicked,
  });
  const zone = model.zones.get(selectedZoneId);
  $("selected-zone").textContent = zone ? `${t.selectedZone}：${zone.name}（${zone.team.name}）` : t.selectZoneHint;
  $("marked-info").textContent = fill(t.marked, { n: model.marks.size });
  const draft = model.isDraft;
  $("edit-tools").hidden = !draft;
  $("read-only").hidden = draft;
  $("publish-button").hidden = !draft;
  const version = versions.find((v) => v.id === model.version?.id);
  $("rollback-button").hidden = !(version && version.status === "published" && !version.in_force);
  for (const id of ["edit-zone", "split-zone", "merge-zones", "delete-zone"]) $(id).disabled = !zone;
  $("version-info").textContent = draft
    ? fill(t.editing, { n: model.revision })
    : version?.effective_from
      ? `${t.effectiveFrom}：${timeText(version.effective_from)}`
      : "";
  root.dataset.version = String(model.version?.id ?? "");
  root.dataset.revision = String(model.revision ?? "");
  root.dataset.status = model.version?.status || "";
}

let cellNames = new Map();
function cellLabel(code) {
  const name = cellNames.get(code);
  return name ? `${name}（${code}）` : code || "—";
}

function selectZone(id) {
  selectedZoneId = selectedZoneId === id ? null : id;
  render();
}

function problemClicked(problem) {
  if (problem.domain && problem.domain !== domain) {
    domain = problem.domain;
    render();
  }
  const id = model.cellIdByCode.get(problem.cell);
  if (id !== undefined) pmap.zoomToCell(id);
}

// --- loading ------------------------------------------------------------------------------------
async function refreshVersions() {
  versions = await api.versions();
  renderVersions($("version-select"), versions, model.version?.id ?? null, t, timeText);
}

async function openVersion(id, { keepSelection = false, membership = null } = {}) {
  root.dataset.state = "loading";
  membership = membership || (await api.membership(id));
  model.load(membership);
  hideStale();
  if (!keepSelection || !model.zones.has(selectedZoneId)) selectedZoneId = null;
  if (!model.domains().includes(domain)) domain = "comprehensive";
  for (const zone of model.zones.values()) {
    if (!colours.has(zone.team.code) && !fallbackColours.has(zone.team.code)) {
      fallbackColours = teamColours([...fallbackColours.keys(), zone.team.code]);
    }
  }
  $("version-select").value = String(id);
  const url = new URL(window.location.href);
  url.searchParams.set("version", String(id));
  window.history.replaceState(null, "", url);
  render();
  root.dataset.state = "ready";
  await validate();
  scheduleFigures(0);
}

// The validation under way, awaited by the publish dialog (it decides whether a reason is needed).
let validating = Promise.resolve();

function validate() {
  validating = runValidation();
  return validating;
}

async function runValidation() {
  const id = model.version?.id;
  model.validation = null;
  render();
  try {
    const result = await api.validate(id);
    if (model.version?.id !== id) return;
    model.validation = result;
  } catch (error) {
    console.warn("validation failed", error);
    model.validation = { ok: false, gaps: [], overlaps: [] };
    showStatus(errorText(error), { error: true });
  }
  render();
}

function scheduleFigures(delay = FIGURES_DEBOUNCE_MS) {
  clearTimeout(figuresTimer);
  // The figures shown are of the draft before this edit until the new ones arrive: greyed.
  $("figures").classList.toggle("is-refreshing", Boolean(lastFigures));
  figuresTimer = setTimeout(loadFigures, delay);
}

async function loadFigures() {
  if (figuresAbort) figuresAbort.abort();
  const container = $("figures");
  if (!api.served("figures") || !model.version) {
    renderFigures(container, null, { t, unavailable: true });
    return;
  }
  const controller = new AbortController();
  figuresAbort = controller;
  if (!lastFigures) renderFigures(container, null, { t });
  try {
    lastFigures = await api.figures(model.version.id, { signal: controller.signal });
    drawFigures();
  } catch (error) {
    if (error.name === "AbortError") return;
    console.warn("figures unavailable", error);
    lastFigures = null;
    container.classList.remove("is-refreshing");
    renderFigures(container, null, { t, unavailable: true });
  }
}

function drawFigures() {
  $("figures").classList.remove("is-refreshing");
  renderFigures($("figures"), lastFigures, {
    t,
    sort: figuresSort,
    onSort: (table, column) => {
      const same = figuresSort?.table === table && figuresSort.column === column;
      figuresSort = { table, column, descending: same ? !figuresSort.descending : true };
      drawFigures();
    },
  });
}

// --- editing ------------------------------------------------------------------------------------
// Run one edit: refused while another runs or while the draft is stale; a 409 shows the banner.
async function edit(action, { reload = false } = {}) {
  if (model.stale !== null) {
    showStale(model.stale);
    return false;
  }
  if (busy) return false;
  busy = true;
  root.dataset.busy = "true";
  showStatus(t.saving, { sticky: true });
  try {
    await action();
    showStatus(t.saved);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      showStatus("");
      showStale(error.body?.current_revision ?? "?");
    } else {
      showStatus(fill(t.editFailed, { m: errorText(error) }), { error: true });
    }
    return false;
  } finally {
    busy = false;
    root.dataset.busy = "false";
  }
  if (reload) await openVersion(model.version.id, { keepSelection: true });
  else {
    render();
    await validate();
    scheduleFigures();
  }
  return true;
}

async function applyCells(ids) {
  if (!ids.length) {
    showStatus(t.noCellsSelected);
    return;
  }
  const how = mode();
  if (how === "mark") {
    model.toggleMarks(ids, ids.length === 1 ? "toggle" : "add");
    render();
    return;
  }
  if (selectedZoneId === null) {
    showStatus(t.selectZoneHint);
    return;
  }
  const change = model.edited(selectedZoneId, ids, how);
  if (!change) {
    showStatus(t.nothingChanged);
    return;
  }
  const zoneId = selectedZoneId;
  await edit(async () => {
    const saved = await api.zoneSetCells(zoneId, { cells: change.cells, revision: model.revision });
    model.zoneSaved(saved);
  });
  if (!model.stale) showStatus(fill(how === "add" ? t.added : t.removed, { n: change.changed }));
}

function cellClicked(id) {
  if (!model.isDraft || (selectedZoneId === null && mode() !== "mark")) {
    // Not editing: a click picks the zone that covers the cell in the domain shown.
    const zones = model.coverage(domain).get(id) || [];
    if (zones.length) selectZone(zones[0].id);
    return;
  }
  applyCells([id]);
}

async function selection(body) {
  try {
    const answer = await api.cellsIn(model.version.id, body);
    await applyCells(answer.cells);
  } catch (error) {
    showStatus(errorText(error), { error: true });
  }
}

function polygonDrawn(geometry) {
  drawButtons(false);
  selection({ polygon: geometry });
}

function drawButtons(drawing) {
  $("draw-button").hidden = drawing;
  $("draw-cancel").hidden = !drawing;
  root.dataset.drawing = String(drawing);
  if (drawing) showStatus(t.drawHint, { sticky: true });
  else if ($("map-status").textContent === t.drawHint) showStatus("");
}

$("draw-button").addEventListener("click", () => {
  drawButtons(true);
  pmap.startDraw();
});
$("draw-cancel").addEventListener("click", () => {
  pmap.cancelDraw();
  drawButtons(false);
});
$("region-apply").addEventListener("click", () => {
  const code = $("region-select").value;
  if (code) selection({ regions: [code] });
});
$("clear-marks").addEventListener("click", () => {
  model.marks.clear();
  render();
});
$("domain-select").addEventListener("change", (event) => {
  domain = event.target.value;
  const zone = model.zones.get(selectedZoneId);
  if (zone && zone.domain !== domain) selectedZoneId = null;
  render();
});
$("version-select").addEventListener("change", (event) => {
  pmap.cancelDraw();
  drawButtons(false);
  openVersion(Number(event.target.value)).catch(loadFailed);
});
$("stale-reload").addEventListener("click", () => {
  openVersion(model.version.id, { keepSelection: true }).catch(loadFailed);
});

// --- dialogs ------------------------------------------------------------------------------------
const zoneDialog = $("zone-dialog");
let zoneDialogSubmit = null;

// A small form dialog: title, text, fields; `submit(values)` runs on OK and may throw to keep it open.
function formDialog({ title, text = "", fields, submit }) {
  $("zone-dialog-title").textContent = title;
  $("zone-dialog-text").textContent = text;
  $("zone-dialog-fields").replaceChildren(...fields);
  $("zone-dialog-error").hidden = true;
  zoneDialogSubmit = submit;
  zoneDialog.showModal();
  fields[0]?.querySelector("input, select, textarea")?.focus();
}

$("zone-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "ok") return;
  event.preventDefault();
  const values = Object.fromEntries(new FormData($("zone-form")).entries());
  values.zones = new FormData($("zone-form")).getAll("zones").map(Number);
  try {
    $("zone-dialog-ok").disabled = true;
    await zoneDialogSubmit(values);
    zoneDialog.close();
  } catch (error) {
    $("zone-dialog-error").textContent = errorText(error);
    $("zone-dialog-error").hidden = false;
  } finally {
    $("zone-dialog-ok").disabled = false;
  }
});

function field(label, control) {
  return el("label", { className: "field" }, [el("span", { text: label }), control]);
}

function textInput(name, value) {
  return el("input", { attrs: { name, value, type: "text", maxlength: "100", required: "" } });
}

function select(name, options, value) {
  const node = el(
    "select",
    { className: "select", attrs: { name } },
    options.map(([v, label]) => el("option", { text: label, attrs: { value: v } })),
  );
  if (value !== undefined) node.value = value;
  return node;
}

// An edit from a dialog: stale or failed edits keep the dialog open with the reason.
async function dialogEdit(action) {
  if (model.stale !== null) {
    showStale(model.stale);
    throw new Error(fill(t.stale, { n: model.stale }));
  }
  let failure = null;
  const ok = await edit(async () => {
    try {
      await action();
    } catch (error) {
      failure = error;
      throw error;
    }
    // Saved: the dialog goes now, not after the reload and its validation (a modal dialog left
    // open over the redrawn map swallows the planner's next clicks on it).
    zoneDialog.close();
  }, { reload: true });
  if (!ok) throw failure || new Error(t.saving);
}

$("new-draft").addEventListener("click", () => {
  const name = fill(t.newDraftName, { t: localInputNow().replace("T", " ") });
  formDialog({
    title: t.newDraft,
    fields: [field(t.draftName, textInput("name", name))],
    submit: async ({ name: chosen }) => {
      const draft = await api.draftCreate(chosen);
      await refreshVersions();
      await openVersion(draft.id);
      showStatus(fill(t.draftCreated, { name: draft.name }));
    },
  });
});

$("create-zone").addEventListener("click", () => {
  if (!model.marks.size) {
    showStatus(t.needMarks);
    return;
  }
  const teamSelect = select(
    "team",
    teams.map((team) => [team.code, team.name]),
  );
  const domainSelect = select(
    "domain",
    Object.entries(state.domains),
    teams[0]?.domain,
  );
  teamSelect.addEventListener("change", () => {
    const team = teams.find((tm) => tm.code === teamSelect.value);
    if (team) domainSelect.value = team.domain;
  });
  formDialog({
    title: t.createZone,
    text: fill(t.marked, { n: model.marks.size }),
    fields: [field(t.zoneName, textInput("name", "")), field(t.team, teamSelect), field(t.domain, domainSelect)],
    submit: async ({ name, team, domain: zoneDomain }) =>
      dialogEdit(async () => {
        const saved = await api.zoneCreate(model.version.id, {
          team,
          name,
          domain: zoneDomain,
          cells: [...model.marks],
          revision: model.revision,
        });
        model.marks.clear();
        selectedZoneId = saved.id;
        domain = saved.domain;
      }),
  });
});

$("split-zone").addEventListener("click", () => {
  const zone = model.zones.get(selectedZoneId);
  if (!zone) return;
  const moving = [...model.marks].filter((id) => zone.cells.has(id));
  if (!moving.length) {
    showStatus(t.needMarks);
    return;
  }
  formDialog({
    title: `${t.split}：${zone.name}`,
    text: `${t.splitHint} ${fill(t.marked, { n: moving.length })}`,
    fields: [field(t.splitName, textInput("name", `${zone.name}（2）`))],
    submit: async ({ name }) =>
      dialogEdit(async () => {
        const saved = await api.zoneSplit(model.version.id, { zone: zone.id, cells: moving, name, revision: model.revision });
        model.marks.clear();
        selectedZoneId = saved.id;
      }),
  });
});

$("merge-zones").addEventListener("click", () => {
  const zone = model.zones.get(selectedZoneId);
  if (!zone) return;
  const choices = model.mergeable(zone.id).map((z) =>
    el("label", { className: "check" }, [
      el("input", {
        attrs: { type: "checkbox", name: "zones", value: String(z.id), ...(z.id === zone.id ? { checked: "" } : {}) },
      }),
      el("span", { text: `${z.name}（${fill(t.zoneCells, { n: z.cells.size })}）` }),
    ]),
  );
  formDialog({
    title: t.mergeTitle,
    text: t.mergeHint,
    fields: [field(t.mergedName, textInput("name", zone.name)), el("fieldset", { className: "checks" }, choices)],
    submit: async ({ name, zones }) =>
      dialogEdit(async () => {
        const saved = await api.zoneMerge(model.version.id, { zones, name, revision: model.revision });
        selectedZoneId = saved.id;
      }),
  });
});

// Assign the selected zone to another team and/or domain, or rename it.
$("edit-zone").addEventListener("click", () => {
  const zone = model.zones.get(selectedZoneId);
  if (!zone) return;
  const teamSelect = select(
    "team",
    teams.map((team) => [team.code, team.name]),
    zone.team.code,
  );
  const domainSelect = select("domain", Object.entries(state.domains), zone.domain);
  formDialog({
    title: `${t.editZone}：${zone.name}`,
    text: t.editZoneHint,
    fields: [field(t.zoneName, textInput("name", zone.name)), field(t.team, teamSelect), field(t.domain, domainSelect)],
    submit: async ({ name, team, domain: zoneDomain }) =>
      dialogEdit(async () => {
        const saved = await api.zoneUpdate(zone.id, { name, team, domain: zoneDomain, revision: model.revision });
        selectedZoneId = saved.id;
        domain = saved.domain;
      }),
  });
});

$("delete-zone").addEventListener("click", () => {
  const zone = model.zones.get(selectedZoneId);
  if (!zone) return;
  formDialog({
    title: t.delete,
    text: fill(t.deleteConfirm, { name: zone.name }),
    fields: [],
    submit: async () =>
      dialogEdit(async () => {
        await api.zoneDelete(zone.id, { revision: model.revision });
        selectedZoneId = null;
      }),
  });
});

$("rollback-button").addEventListener("click", () => {
  const version = versions.find((v) => v.id === model.version?.id);
  if (!version) return;
  const when = el("input", { attrs: { type: "datetime-local", name: "effective", step: "60", required: "", value: localInputNow() } });
  formDialog({
    title: t.rollbackTitle,
    text: fill(t.rollbackText, { name: version.name }),
    fields: [field(t.effectiveFrom, when)],
    submit: async ({ effective }) => {
      if (!effective) throw new Error(t.badTime);
      const copy = await api.rollback(version.id, { effectiveFrom: inputToIso(effective) });
      await refreshVersions();
      await openVersion(copy.id);
      showStatus(fill(t.rolledBack, { name: copy.name }));
    },
  });
});

// --- publishing ---------------------------------------------------------------------------------
const publishDialog = $("publish-dialog");

$("publish-button").addEventListener("click", async () => {
  if (model.stale !== null) {
    showStale(model.stale);
    return;
  }
  await validating;
  $("publish-effective").value = localInputNow();
  $("publish-reason").value = "";
  $("publish-error").hidden = true;
  const gaps = model.validation?.gaps?.length || 0;
  const overlaps = model.validation?.overlaps?.length || 0;
  const needsReason = gaps + overlaps > 0;
  $("publish-warning").textContent = needsReason ? fill(t.overrideNeeded, { gaps, overlaps }) : "";
  $("publish-warning").hidden = !needsReason;
  $("publish-reason").setAttribute("aria-required", String(needsReason));
  publishDialog.dataset.needsReason = String(needsReason);
  const diffBox = $("publish-diff");
  const inForce = versions.find((v) => v.in_force);
  renderDiff(diffBox, null, { t, unavailable: !api.served("diff") || !inForce });
  publishDialog.showModal();
  if (api.served("diff") && inForce) {
    try {
      renderDiff(diffBox, await api.diff(model.version.id, inForce.id), { t, domains: state.domains });
    } catch (error) {
      console.warn("diff unavailable", error);
      renderDiff(diffBox, null, { t, unavailable: true });
    }
  }
});

$("publish-form").addEventListener("submit", async (event) => {
  if (event.submitter?.value !== "publish") return;
  event.preventDefault();
  const error = $("publish-error");
  const effective = inputToIso($("publish-effective").value);
  if (!effective) {
    error.textContent = t.badTime;
    error.hidden = false;
    return;
  }
  $("publish-submit").disabled = true;
  try {
    const version = await api.publish(model.version.id, {
      effectiveFrom: effective,
      overrideReason: $("publish-reason").value.trim(),
      revision: model.revision,
    });
    publishDialog.close();
    await refreshVersions();
    await openVersion(version.id);
    showStatus(fill(t.published, { name: version.name, t: timeText(version.effective_from) }));
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 409) showStale(failure.body?.current_revision ?? "?");
    error.textContent = errorText(failure);
    error.hidden = false;
    error.dataset.field = failure instanceof ApiError ? Object.keys(failure.body || {})[0] || "" : "";
  } finally {
    $("publish-submit").disabled = false;
  }
});

// --- start --------------------------------------------------------------------------------------
function loadFailed(error) {
  console.warn("planner load failed", error);
  root.dataset.state = "error";
  showStatus(fill(t.editFailed, { m: errorText(error) }), { error: true, sticky: true });
}

function fillRegions(townships, villages) {
  const townshipName = new Map(townships.map((f) => [f.properties.code, f.properties.name]));
  const byTownship = new Map();
  for (const v of villages) {
    const parent = v.properties.parent_code;
    if (!byTownship.has(parent)) byTownship.set(parent, []);
    byTownship.get(parent).push(v.properties);
  }
  const levelLabel = (p) => p.level_display || "";
  $("region-select").replaceChildren(
    el("option", { text: t.regionPlaceholder, attrs: { value: "" } }),
    el(
      "optgroup",
      { attrs: { label: t.layerTownships } },
      townships.map((f) =>
        el("option", { text: `${f.properties.name}（${levelLabel(f.properties)}）`, attrs: { value: f.properties.code } }),
      ),
    ),
    ...[...byTownship].map(([parent, rows]) =>
      el(
        "optgroup",
        { attrs: { label: `${townshipName.get(parent) || parent} · ${t.layerVillages}` } },
        rows.map((p) => el("option", { text: p.name, attrs: { value: p.code } })),
      ),
    ),
  );
}

async function start() {
  const [layers, cells, versionRows] = await Promise.all([pmap.loadCounty(state), api.cells(), api.versions()]);
  versions = versionRows;
  colours = layers.colours;
  teams = layers.teamRows;
  fallbackColours = teamColours(teams.map((team) => team.code));
  cellNames = new Map(cells.features.map((f) => [f.properties.code, f.properties.name]));
  fillRegions(layers.townships.features, layers.villages.features);
  renderVersions($("version-select"), versions, null, t, timeText);
  const asked = Number(new URL(window.location.href).searchParams.get("version"));
  const initial =
    versions.find((v) => v.id === asked) || versions.find((v) => v.in_force) || versions.find((v) => v.status === "draft") || versions[0];
  if (!initial) {
    root.dataset.state = "ready";
    $("map").dataset.state = "ready";
    render();
    return;
  }
  // The planning ids of the cells come with the version; draw the cells once they are known.
  const membership = await api.membership(initial.id);
  pmap.setCells(cells, new Map(Object.entries(membership.cells)));
  $("map").dataset.state = "ready";
  await openVersion(initial.id, { membership });
}

start().catch(loadFailed);
