// 检查计划 (/inspections/): planners, dispatchers and supervisors work the target registry, merge
// the departments' planned checks into joint visits (综合查一次) and run double-random draws
// (双随机一公开). State comes from the json_script block "inspections-state"; data from
// inspectionsapi.js (REST), the map from inspectionsmap.js. This module draws the panels and wires
// them up. The root element's data-state / data-tab and each panel's data-state say what is shown
// (the browser tests wait on them).

import { el, fill, timeFormatter } from "./dom.js";
import { ApiError, InspectionsApi } from "./inspectionsapi.js";
import { InspectionsMap } from "./inspectionsmap.js";

const state = JSON.parse(document.getElementById("inspections-state").textContent);
const t = state.i18n;
const language = document.documentElement.lang || "zh-hans";
const api = new InspectionsApi(state);
const $ = (id) => document.getElementById(id);
const root = $("inspections");
const timeText = timeFormatter(language, state.timeZone, { seconds: false });
const numberFormat = new Intl.NumberFormat(language);
const townshipName = new Map(state.townships.map((row) => [row.code, row.name]));

let tab = "targets";
let targets = []; // the filtered list
const allTargets = new Map(); // every target by id (draws name and place them)
let selectedTargetId = null;
let proposal = null;
let committed = [];
let currentDraw = null;
let officerNames = new Map();

const inspMap = new InspectionsMap($("map"), state, t, { onTarget: (id) => targetClicked(id) });

// --- messages -----------------------------------------------------------------------------------
function errorText(error) {
  if (error instanceof ApiError) return error.fieldMessage || `HTTP ${error.status}`;
  return String(error?.message || error);
}

function say(element, message, { error = false } = {}) {
  element.textContent = message || "";
  element.hidden = !message;
  element.classList.toggle("is-error", Boolean(error));
}

function pageError(error) {
  say($("page-message"), fill(t.failed, { m: errorText(error) }), { error: true });
}

function dot(colour) {
  return el("span", { className: `dot dot-${colour}`, attrs: { title: t.colours[colour] || colour } });
}

// --- tabs ---------------------------------------------------------------------------------------
function showTab(name) {
  tab = name;
  root.dataset.tab = name;
  for (const button of document.querySelectorAll(".insp-tab")) {
    const on = button.dataset.tab === name;
    button.setAttribute("aria-selected", String(on));
    $(button.getAttribute("aria-controls")).hidden = !on;
  }
  drawMap();
  if (name === "plans" && root.dataset.plans !== "loaded") loadPeriod();
  if (name === "draws" && root.dataset.draws !== "loaded") loadDraws();
}

function drawMap() {
  if (tab === "targets") inspMap.showTargets(targets, { selectedId: selectedTargetId });
  else if (tab === "plans") inspMap.showVisits(proposal?.visits?.length ? proposal.visits : committed);
  else if (tab === "draws") inspMap.showDraw(currentDraw?.results || [], allTargets);
}

for (const button of document.querySelectorAll(".insp-tab")) {
  button.addEventListener("click", () => showTab(button.dataset.tab));
}

// --- targets ------------------------------------------------------------------------------------
const filterForm = $("target-filter");

function targetFilters() {
  const data = new FormData(filterForm);
  return {
    township: data.get("township") || "",
    industry: data.get("industry") || "",
    colour: data.getAll("colour"),
    no_disturbance: data.get("no_disturbance") || "",
    q: (data.get("q") || "").trim(),
  };
}

let targetsController = null;
async function loadTargets() {
  if (targetsController) targetsController.abort();
  targetsController = new AbortController();
  const panel = $("panel-targets");
  panel.dataset.state = "loading";
  try {
    targets = await api.targets(targetFilters(), { signal: targetsController.signal });
  } catch (error) {
    if (error.name === "AbortError") return;
    panel.dataset.state = "error";
    pageError(error);
    return;
  }
  renderTargets();
  panel.dataset.state = "ready";
  if (tab === "targets") drawMap();
}

function renderTargets() {
  $("target-count").textContent = fill(t.targetCount, { n: numberFormat.format(targets.length) });
  const list = $("target-list");
  if (!targets.length) {
    list.replaceChildren(el("li", { className: "muted", text: t.noTargets }));
    return;
  }
  list.replaceChildren(
    ...targets.map((target) =>
      el("li", { attrs: { "data-target-id": target.id, "data-colour": target.colour } }, [
        el(
          "button",
          {
            className: "target-item",
            attrs: { type: "button", "aria-pressed": String(target.id === selectedTargetId) },
          },
          [
            dot(target.colour),
            el("span", { className: "target-name", text: target.name }),
            el("span", {
              className: "target-meta muted",
              text: [target.township?.name, target.industry].filter(Boolean).join(" · "),
            }),
            target.no_disturbance ? el("span", { className: "badge badge-nd", text: t.noDisturbance }) : null,
          ],
        ),
      ]),
    ),
  );
}

$("target-list").addEventListener("click", (event) => {
  const item = event.target.closest("[data-target-id]");
  if (item) targetClicked(Number(item.dataset.targetId));
});

async function targetClicked(id) {
  selectedTargetId = id;
  for (const item of document.querySelectorAll("#target-list [data-target-id]")) {
    item.querySelector("button").setAttribute("aria-pressed", String(Number(item.dataset.targetId) === id));
  }
  if (tab === "targets") inspMap.select(id);
  const box = $("target-detail");
  box.hidden = false;
  box.dataset.state = "loading";
  box.replaceChildren(el("p", { className: "muted", text: t.loading }));
  try {
    renderTargetDetail(await api.target(id));
  } catch (error) {
    box.dataset.state = "error";
    box.replaceChildren(el("p", { className: "form-error", text: fill(t.failed, { m: errorText(error) }) }));
  }
}

function fact(label, value) {
  return value ? [el("dt", { text: label }), el("dd", { text: value })] : [];
}

function renderTargetDetail(target) {
  const box = $("target-detail");
  box.dataset.targetId = String(target.id);
  const nd = target.no_disturbance
    ? target.no_disturbance_until
      ? fill(t.noDisturbanceUntil, { d: target.no_disturbance_until })
      : t.noDisturbance
    : "";
  const history = [...(target.colour_changes || [])].sort((a, b) => (a.at < b.at ? 1 : -1));
  box.replaceChildren(
    el("h2", {}, [dot(target.colour), el("span", { text: ` ${target.name}` })]),
    el("dl", { className: "facts" }, [
      ...fact(t.colour, t.colours[target.colour]),
      ...fact(t.kind, t.kinds[target.kind]),
      ...fact(t.creditCode, target.credit_code),
      ...fact(t.township, target.township?.name),
      ...fact(t.industry, target.industry),
      ...fact(t.address, target.address),
      ...fact(t.noDisturbance, [nd, target.no_disturbance_reason].filter(Boolean).join(" · ")),
    ]),
    el("h3", { text: t.colourHistory }),
    el("table", { className: "insp-table colour-history" }, [
      el("thead", {}, [
        el("tr", {}, [t.when, t.colour, t.reason, t.by].map((h) => el("th", { text: h, attrs: { scope: "col" } }))),
      ]),
      el(
        "tbody",
        {},
        history.map((row) =>
          el("tr", { attrs: { "data-to": row.to_colour } }, [
            el("td", { className: "nowrap", text: timeText(row.at) }),
            el("td", {
              text: row.from_colour
                ? fill(t.fromTo, { from: t.colourShort[row.from_colour], to: t.colourShort[row.to_colour] })
                : `${t.firstColour}：${t.colourShort[row.to_colour]}`,
            }),
            el("td", { text: row.reason || "—" }),
            el("td", { text: row.by || "—" }),
          ]),
        ),
      ),
    ]),
  );
  box.dataset.state = "ready";
}

let filterTimer = null;
filterForm.addEventListener("input", () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(loadTargets, 250);
});
filterForm.addEventListener("submit", (event) => {
  event.preventDefault();
  loadTargets();
});

async function loadAllTargets() {
  const rows = await api.targets();
  allTargets.clear();
  for (const row of rows) allTargets.set(row.id, row);
}

// --- import -------------------------------------------------------------------------------------
const importResult = $("import-result");
let importChecked = null; // the file whose dry run is shown

function renderImport(result) {
  const problems = result.problems || [];
  const summary = fill(t.importRows, { rows: result.rows, valid: result.valid, problems: problems.length });
  const children = [el("p", { className: "import-summary", text: summary })];
  if (result.committed) {
    children.push(el("p", { className: "import-ok", text: fill(t.importCommitted, result) }));
  } else {
    children.push(
      el("p", { className: problems.length ? "import-bad" : "import-ok", text: problems.length ? t.importHasProblems : t.importClean }),
    );
  }
  if (problems.length) {
    children.push(
      el("table", { className: "insp-table import-problems" }, [
        el("thead", {}, [el("tr", {}, [t.importRow, t.importField, t.importMessage].map((h) => el("th", { text: h })))]),
        el(
          "tbody",
          {},
          problems.map((p) =>
            el("tr", { attrs: { "data-row": p.row, "data-field": p.field } }, [
              el("td", { text: String(p.row) }),
              el("td", { text: p.field }),
              el("td", { text: p.message }),
            ]),
          ),
        ),
      ]),
    );
  }
  importResult.replaceChildren(...children);
  importResult.dataset.state = result.committed ? "committed" : problems.length ? "problems" : "clean";
}

function updateImportButton() {
  const file = $("import-file").files[0];
  const result = importChecked;
  const ok =
    result &&
    result.file === file &&
    !result.data.committed &&
    result.data.valid > 0 &&
    (result.data.problems.length === 0 || $("import-skip-bad").checked);
  $("import-commit").disabled = !ok;
}

async function importRun(commit) {
  const file = $("import-file").files[0];
  if (!file) {
    importResult.replaceChildren(el("p", { className: "form-error", text: t.chooseFile }));
    return;
  }
  importResult.dataset.state = "loading";
  try {
    const data = await api.importTargets(file, { commit, skipBad: $("import-skip-bad").checked });
    importChecked = { file, data };
    renderImport(data);
    if (data.committed) {
      await Promise.all([loadTargets(), loadAllTargets()]);
    }
  } catch (error) {
    importResult.dataset.state = "error";
    importResult.replaceChildren(el("p", { className: "form-error", text: fill(t.failed, { m: errorText(error) }) }));
  }
  updateImportButton();
}

$("import-check").addEventListener("click", () => importRun(false));
$("import-commit").addEventListener("click", () => importRun(true));
$("import-file").addEventListener("change", () => {
  importChecked = null;
  importResult.replaceChildren();
  importResult.dataset.state = "idle";
  updateImportButton();
});
$("import-skip-bad").addEventListener("change", updateImportButton);

// --- plans and joint visits ---------------------------------------------------------------------
const periodForm = $("period-form");

function period() {
  const year = Number($("period-year").value);
  const month = $("period-month").value ? Number($("period-month").value) : null;
  return month ? { year, month } : { year };
}

function periodRange({ year, month }) {
  const pad = (n) => String(n).padStart(2, "0");
  if (!month) return { start: `${year}-01-01`, end: `${year}-12-31` };
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return { start: `${year}-${pad(month)}-01`, end: `${year}-${pad(month)}-${pad(last)}` };
}

function radius() {
  const value = Number($("radius").value);
  return Number.isFinite(value) && value >= 0 && value <= 5000 ? value : null;
}

async function loadPeriod() {
  const panel = $("panel-plans");
  panel.dataset.state = "loading";
  proposal = null;
  renderProposal();
  try {
    const [plans, visits] = await Promise.all([api.plans(period()), api.visits(periodRange(period()))]);
    renderPlans(plans);
    committed = visits;
    renderVisits();
    root.dataset.plans = "loaded";
    panel.dataset.state = "ready";
  } catch (error) {
    panel.dataset.state = "error";
    pageError(error);
  }
  if (tab === "plans") drawMap();
}

function renderPlans(plans) {
  const list = $("plan-list");
  if (!plans.length) {
    list.replaceChildren(el("li", { className: "muted", text: t.noPlans }));
    return;
  }
  list.replaceChildren(
    ...plans.map((plan) =>
      el("li", { attrs: { "data-plan-id": plan.id, "data-team": plan.team.code } }, [
        el("span", { className: "plan-team", text: plan.team.name }),
        el("span", { className: "plan-title", text: plan.title }),
        el("span", { className: "plan-count muted", text: fill(t.planChecks, { n: plan.check_count }) }),
      ]),
    ),
  );
}

function teamNames(visit) {
  return new Map((visit.teams || [visit.lead_team]).map((team) => [team.code, team.name]));
}

function visitBody(visit, index) {
  const names = teamNames(visit);
  const targetName = new Map(visit.targets.map((target) => [target.id, target.name]));
  const members = (visit.teams || []).filter((team) => team.code !== visit.lead_team.code).map((team) => team.name);
  return [
    el("div", { className: "visit-head" }, [
      el("span", { className: "visit-number", text: `${index + 1}` }),
      el("span", { className: "visit-date", text: fill(t.plannedDate, { d: visit.planned_date }) }),
      el("span", { className: "visit-lead", text: `${t.leadTeam}：${visit.lead_team.name}` }),
    ]),
    members.length ? el("p", { className: "visit-members muted", text: `${t.members}：${members.join("、")}` }) : null,
    el(
      "p",
      { className: "visit-targets" },
      visit.targets.flatMap((target, i) => [i ? el("span", { text: "、" }) : null, dot(target.colour), el("span", { text: target.name })]),
    ),
    el(
      "ul",
      { className: "visit-checks" },
      visit.checks.map((check) =>
        el("li", { attrs: { "data-check-id": check.id } }, [
          el("span", { text: `${names.get(check.team) || check.team}：${targetName.get(check.target) || check.target}` }),
          el("span", { className: "muted", text: ` — ${check.matter || state.domains[check.domain] || check.domain}` }),
          check.mandatory ? el("span", { className: "badge badge-mandatory", text: t.mandatory }) : null,
        ]),
      ),
    ),
  ];
}

function renderProposal() {
  const box = $("proposal");
  const figures = proposal?.figures;
  for (const node of document.querySelectorAll("#proposal-figures .figure")) {
    const value = figures ? figures[node.dataset.figure] : null;
    node.querySelector(".figure-value").textContent = value === null || value === undefined ? "–" : numberFormat.format(value);
    node.dataset.value = value === null || value === undefined ? "" : String(value);
  }
  $("proposal-extra").textContent = figures
    ? [
        fill(t.checksCount, { n: figures.checks }),
        fill(t.doorEntriesAvoided, { n: figures.door_entries_avoided }),
        figures.skipped_no_disturbance ? fill(t.skipped, { n: figures.skipped_no_disturbance }) : "",
      ]
        .filter(Boolean)
        .join(" · ")
    : "";
  const list = $("proposal-list");
  if (!proposal) list.replaceChildren();
  else if (!proposal.visits.length) list.replaceChildren(el("li", { className: "muted", text: t.noProposals }));
  else {
    list.replaceChildren(
      ...proposal.visits.map((visit, index) =>
        el("li", { className: "visit", attrs: { "data-key": visit.key, "data-lead": visit.lead_team.code } }, visitBody(visit, index)),
      ),
    );
  }
  $("commit-button").disabled = !(proposal && proposal.visits.length);
  box.dataset.state = proposal ? "proposed" : "idle";
}

async function propose() {
  if (!state.countyLevel) return; // merge proposals are county-level (the panel is hidden)
  const r = radius();
  if (r === null) {
    say($("proposal-message"), t.badRadius, { error: true });
    return;
  }
  say($("proposal-message"), "");
  $("proposal").dataset.state = "loading";
  try {
    proposal = await api.proposals(period(), r);
  } catch (error) {
    proposal = null;
    say($("proposal-message"), fill(t.failed, { m: errorText(error) }), { error: true });
  }
  renderProposal();
  if (tab === "plans") drawMap();
}

async function commitProposal() {
  if (!proposal) return;
  $("commit-button").disabled = true;
  try {
    const answer = await api.commitProposals(
      period(),
      proposal.radius_m,
      proposal.visits.map((visit) => visit.key),
    );
    say($("proposal-message"), fill(t.committedCount, { n: answer.committed.length }));
    proposal = null;
    renderProposal();
    committed = await api.visits(periodRange(period()));
    renderVisits();
    $("proposal").dataset.state = "committed";
  } catch (error) {
    say($("proposal-message"), fill(t.failed, { m: errorText(error) }), { error: true });
    $("commit-button").disabled = false;
  }
  if (tab === "plans") drawMap();
}

function caseBox(visit) {
  if (visit.case) {
    return el("p", { className: "visit-case", attrs: { "data-case-id": visit.case.id, "data-case-status": visit.case.status } }, [
      el("strong", { text: fill(t.caseOpened, { number: visit.case.number }) }),
      el("span", { className: "muted", text: ` ${fill(t.caseStatus, { s: visit.case.status_label })} ` }),
      el("a", { className: "command-link", text: t.onCommand, attrs: { href: state.api.command } }),
      el("span", { text: " · " }),
      el("a", { className: "record-link", text: t.record, attrs: { href: api.caseRecordUrl(visit.case.id), target: "_blank", rel: "noopener" } }),
    ]);
  }
  if (visit.status !== "planned") return null;
  if (!state.canOpenCase) return el("p", { className: "muted", text: t.openCaseDispatcherOnly });
  return el("button", { className: "button open-case", text: t.openCase, attrs: { type: "button", "data-visit-id": visit.id } });
}

function renderVisits() {
  const list = $("visit-list");
  if (!committed.length) {
    list.replaceChildren(el("li", { className: "muted", text: t.noVisits }));
    return;
  }
  list.replaceChildren(
    ...committed.map((visit, index) =>
      el("li", { className: "visit", attrs: { "data-visit-id": visit.id, "data-status": visit.status } }, [
        ...visitBody(visit, index),
        el("p", { className: "visit-status muted", text: `${t.visitStatus[visit.status] || visit.status} · ${fill(t.before, {})} ${visit.visits_before}` }),
        caseBox(visit),
      ]),
    ),
  );
}

$("visit-list").addEventListener("click", async (event) => {
  const button = event.target.closest("button.open-case");
  if (!button) return;
  button.disabled = true;
  try {
    const visit = await api.openCase(Number(button.dataset.visitId));
    committed = committed.map((row) => (row.id === visit.id ? visit : row));
    renderVisits();
  } catch (error) {
    button.disabled = false;
    pageError(error);
  }
});

periodForm.addEventListener("submit", (event) => {
  event.preventDefault();
  propose();
});
for (const select of [$("period-year"), $("period-month")]) select.addEventListener("change", loadPeriod);
$("commit-button").addEventListener("click", commitProposal);

// --- draws --------------------------------------------------------------------------------------
const drawForm = $("draw-form");

function drawBody() {
  const data = new FormData(drawForm);
  const filters = {};
  for (const key of ["townships", "industries", "colours"]) {
    const values = data.getAll(key).filter(Boolean);
    if (values.length) filters[key] = values;
  }
  const rates = {};
  for (const colour of ["red", "yellow", "green"]) {
    const raw = data.get(`rate-${colour}`);
    if (raw !== null && raw !== "") rates[colour] = Number(raw);
  }
  const body = { domain: data.get("domain"), filters, rates, title: (data.get("title") || "").trim() };
  const per = data.get("inspectors_per_target");
  if (per) body.inspectors_per_target = Number(per);
  const seed = (data.get("seed") || "").trim();
  if (seed) body.seed = seed; // digits as a string: a 63-bit seed does not fit a JS number
  return body;
}

async function runDraw(event) {
  event.preventDefault();
  say($("draw-form-error"), "");
  $("draw-run").disabled = true;
  try {
    showDraw(await api.runDraw(drawBody()));
    await loadDraws();
  } catch (error) {
    say($("draw-form-error"), errorText(error), { error: true });
  }
  $("draw-run").disabled = false;
}

function rateText(rates) {
  const percent = new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1 });
  return ["red", "yellow", "green"]
    .filter((colour) => colour in (rates || {}))
    .map((colour) => `${t.colourShort[colour]} ${percent.format(rates[colour])}`)
    .join(" · ");
}

function showDraw(draw) {
  currentDraw = draw;
  const box = $("draw-detail");
  box.hidden = false;
  box.dataset.drawId = String(draw.id);
  box.dataset.published = String(draw.published);
  $("draw-title").textContent = draw.title || t.drawTitleDefault;
  $("draw-seed").textContent = String(draw.seed);
  $("draw-hash").textContent = draw.pool_hash;
  $("draw-rates").textContent = rateText(draw.rates);
  $("draw-pool").textContent = fill(t.poolSize, { n: draw.pool_size, k: draw.results.length });
  const rows = draw.results.map((row) =>
    el("tr", { attrs: { "data-position": row.position, "data-target-id": row.target.id } }, [
      el("td", { text: String(row.position) }),
      el("td", { className: "draw-target", text: row.target.name }),
      el("td", {}, [dot(row.colour), el("span", { text: ` ${t.colourShort[row.colour]}` })]),
      el("td", { className: "draw-inspectors", text: row.inspectors.map((i) => i.name).join("、") }),
      el("td", { text: row.outcome_label }),
      el("td", { className: "draw-case" }, [drawCaseCell(row.case)]),
    ]),
  );
  $("draw-results").replaceChildren(...(rows.length ? rows : [el("tr", {}, [el("td", { text: t.noDrawn, attrs: { colspan: 6 } })])]));
  // Dispatchers open the drawn checks as cases, all at once, while some have none.
  $("draw-open-cases").hidden = !state.canOpenCase || !draw.results.some((row) => !row.case);
  const conflicts = draw.conflicts_excluded || [];
  $("draw-conflicts").textContent = conflicts.length
    ? `${t.conflictsExcluded}：${conflicts
        .map(([officer, target]) =>
          fill(t.conflictPair, {
            officer: officerNames.get(officer) || `#${officer}`,
            target: allTargets.get(target)?.name || `#${target}`,
          }),
        )
        .join("；")}`
    : t.noConflicts;
  $("draw-conflicts").dataset.count = String(conflicts.length);
  say($("draw-replay-result"), "");
  $("draw-replay-result").dataset.equal = "";
  renderPublished(draw);
  box.dataset.state = "ready";
  if (tab === "draws") drawMap();
}

function drawCaseCell(kase) {
  if (!kase) return el("span", { className: "muted", text: "—" });
  return el("a", {
    text: `${kase.number} · ${kase.status_display}`,
    attrs: { href: api.caseRecordUrl(kase.id), target: "_blank", rel: "noopener", "data-case-status": kase.status },
  });
}

async function openDrawCases() {
  if (!currentDraw) return;
  const button = $("draw-open-cases");
  button.disabled = true;
  try {
    currentDraw = await api.openDrawCases(currentDraw.id);
    showDraw(currentDraw);
  } catch (error) {
    pageError(error);
  }
  button.disabled = false;
}

function renderPublished(draw) {
  $("draw-publish").hidden = draw.published;
  $("draw-public-link").hidden = !draw.published;
  $("draw-publish-state").textContent = draw.published ? fill(t.publishedAt, { t: timeText(draw.published_at) }) : t.unpublished;
  $("draw-detail").dataset.published = String(draw.published);
}

async function replayDraw() {
  if (!currentDraw) return;
  const out = $("draw-replay-result");
  out.dataset.equal = "";
  try {
    const replay = await api.replay(currentDraw.id);
    const parts = [replay.equal ? t.replayEqual : t.replayDiffers];
    if (!replay.snapshot_intact) parts.push(t.snapshotBroken);
    parts.push(replay.pool_unchanged ? t.poolUnchanged : t.poolChanged);
    say(out, parts.join(" · "), { error: !replay.equal });
    out.dataset.equal = String(replay.equal);
  } catch (error) {
    say(out, fill(t.failed, { m: errorText(error) }), { error: true });
  }
}

async function publishDraw() {
  if (!currentDraw) return;
  $("draw-publish").disabled = true;
  try {
    await api.publish(currentDraw.id);
    currentDraw = await api.draw(currentDraw.id);
    renderPublished(currentDraw);
    await loadDraws();
  } catch (error) {
    pageError(error);
  }
  $("draw-publish").disabled = false;
}

async function loadDraws() {
  try {
    const [draws, inspectors] = await Promise.all([api.draws(), officerNames.size ? null : api.inspectors()]);
    if (inspectors) officerNames = new Map(inspectors.map((row) => [row.id, row.name]));
    renderDrawList(draws);
    root.dataset.draws = "loaded";
  } catch (error) {
    pageError(error);
  }
}

function renderDrawList(draws) {
  const list = $("draw-list");
  if (!draws.length) {
    list.replaceChildren(el("li", { className: "muted", text: t.noDraws }));
    return;
  }
  list.replaceChildren(
    ...draws.map((draw) =>
      el("li", { attrs: { "data-draw-id": draw.id } }, [
        el("button", { className: "draw-item", attrs: { type: "button" } }, [
          el("span", { className: "draw-item-title", text: draw.title || t.drawTitleDefault }),
          el("span", {
            className: "muted",
            text: fill(t.drawOf, { date: draw.draw_date, domain: state.domains[draw.domain] || draw.domain, n: draw.target_count }),
          }),
          el("span", { className: `badge ${draw.published ? "badge-published" : ""}`, text: draw.published ? t.published : t.unpublished }),
        ]),
      ]),
    ),
  );
}

$("draw-list").addEventListener("click", async (event) => {
  const item = event.target.closest("[data-draw-id]");
  if (!item) return;
  try {
    showDraw(await api.draw(Number(item.dataset.drawId)));
  } catch (error) {
    pageError(error);
  }
});
drawForm.addEventListener("submit", runDraw);
$("draw-replay").addEventListener("click", replayDraw);
$("draw-publish").addEventListener("click", publishDraw);
$("draw-open-cases").addEventListener("click", openDrawCases);

// --- start --------------------------------------------------------------------------------------
async function start() {
  try {
    await Promise.all([inspMap.loadTownships(), loadTargets(), loadAllTargets()]);
    if (targets.length) inspMap.fit(targets.map((target) => target.point));
    root.dataset.state = "ready";
  } catch (error) {
    root.dataset.state = "error";
    pageError(error);
  }
}

start();
