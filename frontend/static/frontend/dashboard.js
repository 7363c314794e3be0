// 效能监督 (/dashboard/): the closed loop's indicators for a period and a scope (county, township or
// team): headline cards (numerator / denominator on hover, the 80% target of the township share),
// the counts, cases per township over time, per-team bars, per-township shares and the tables; the
// review exports (日碰头 / 周例会 / 月通报) are links to the Excel endpoint for the same scope.
// State comes from the json_script block "dashboard-state"; figures from GET /api/v1/indicators/.
// ECharts is the npm package served at /static/vendor/echarts/ (a classic script: window.echarts).
/* global echarts */

import * as api from "./api.js";
import { el, fill, timeFormatter } from "./dom.js";

const state = JSON.parse(document.getElementById("dashboard-state").textContent);
const t = state.i18n;
const language = document.documentElement.lang || "zh-hans";
const root = document.getElementById("dashboard");
const form = document.getElementById("dashboard-form");
const startInput = document.getElementById("period-start");
const endInput = document.getElementById("period-end");
const scopeSelect = document.getElementById("scope");
const intervalSelect = document.getElementById("interval");
const formMessage = document.getElementById("form-message");
const periodText = document.getElementById("dash-period-text");
const periodButtons = [...document.querySelectorAll(".period-button")];
const exportLinks = [...document.querySelectorAll(".export-link")];
const FONT = getComputedStyle(document.body).fontFamily;
const dateTimeText = timeFormatter(language, state.timeZone, { date: true, seconds: false });
const indicatorByCode = Object.fromEntries(state.indicators.map((i) => [i.code, i]));

let preset = "month";
let controller = null;

// --- Formatting -------------------------------------------------------------------------------
const numberFormat = new Intl.NumberFormat(language, { maximumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat(language, { style: "percent", maximumFractionDigits: 1, minimumFractionDigits: 1 });

function valueText(figure, unit) {
  if (figure.value === null || figure.value === undefined) return "—";
  if (unit === "ratio") return percentFormat.format(figure.value);
  if (unit === "hours") return fill(t.hoursValue, { n: numberFormat.format(figure.value) });
  return fill(t.minutesValue, { n: numberFormat.format(figure.value) });
}

function fractionText(figure) {
  return fill(t.fraction, { num: numberFormat.format(figure.numerator), den: numberFormat.format(figure.denominator) });
}

function percent(value) {
  return value === null || value === undefined ? null : Math.round(value * 1000) / 10;
}

// --- Query: period, scope, interval -----------------------------------------------------------
function scopeParams() {
  const [kind, code] = (scopeSelect.value || "").split(":");
  return kind === "township" ? { township: code } : kind === "team" ? { team: code } : {};
}

function query() {
  return { start: startInput.value, end: endInput.value, interval: intervalSelect.value || undefined, ...scopeParams() };
}

function showFormMessage(message) {
  formMessage.textContent = message || "";
  formMessage.hidden = !message;
}

function markPreset(name) {
  preset = name;
  for (const button of periodButtons) button.setAttribute("aria-pressed", String(button.dataset.period === name));
}

function applyPreset(name) {
  markPreset(name);
  if (name !== "custom") {
    startInput.value = state.periods[name].start;
    endInput.value = state.periods[name].end;
  }
}

// The page's address carries its state, so a view can be bookmarked or sent to a colleague.
function readAddress() {
  const params = new URLSearchParams(window.location.search);
  const start = params.get("start");
  const end = params.get("end");
  const named = params.get("period");
  if (named && state.periods[named]) applyPreset(named);
  else if (start) {
    markPreset("custom");
    startInput.value = start;
    endInput.value = end || start;
  } else applyPreset("month");
  const scope = params.get("township") ? `township:${params.get("township")}` : params.get("team") ? `team:${params.get("team")}` : "";
  if ([...scopeSelect.options].some((option) => option.value === scope)) scopeSelect.value = scope;
  const interval = params.get("interval") || "";
  if ([...intervalSelect.options].some((option) => option.value === interval)) intervalSelect.value = interval;
}

function writeAddress() {
  const params = new URLSearchParams();
  if (preset !== "custom") params.set("period", preset);
  else {
    params.set("start", startInput.value);
    params.set("end", endInput.value);
  }
  for (const [key, value] of Object.entries(scopeParams())) params.set(key, value);
  if (intervalSelect.value) params.set("interval", intervalSelect.value);
  window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
}

function updateExports() {
  for (const link of exportLinks) {
    const url = new URL(state.api.review, window.location.origin);
    url.searchParams.set("kind", link.dataset.kind);
    url.searchParams.set("date", endInput.value || state.today);
    for (const [key, value] of Object.entries(scopeParams())) url.searchParams.set(key, value);
    link.href = url.pathname + url.search;
  }
}

// --- Cards and counts -------------------------------------------------------------------------
function renderCards(data) {
  for (const card of document.querySelectorAll(".card[data-indicator]")) {
    const code = card.dataset.indicator;
    const figure = data.indicators[code];
    const meta = indicatorByCode[code];
    card.querySelector(".card-value").textContent = valueText(figure, meta.unit);
    card.querySelector(".card-fraction").textContent = fractionText(figure);
    card.dataset.value = figure.value === null ? "" : String(figure.value);
    card.title = `${fractionText(figure)}\n${meta.definition}`;
    if (code === "township_share") {
      const target = figure.target ?? state.target;
      const fillBar = card.querySelector(".target-fill");
      const line = card.querySelector(".target-line");
      fillBar.style.width = `${Math.min(100, (figure.value || 0) * 100)}%`;
      line.style.left = `${target * 100}%`;
      const verdict = figure.value === null ? "" : figure.value >= target ? t.meetsTarget : t.belowTarget;
      card.dataset.meetsTarget = figure.value === null ? "" : String(figure.value >= target);
      card.querySelector(".card-target").textContent = [fill(t.target, { pct: percentFormat.format(target) }), verdict]
        .filter(Boolean)
        .join(" · ");
    }
  }
  for (const count of document.querySelectorAll(".count")) {
    const key = count.dataset.count;
    count.querySelector(".count-value").textContent = numberFormat.format(data.counts[key]);
    const meta = state.counts.find((c) => c.code === key);
    if (meta) count.title = meta.definition;
  }
  periodText.textContent = [
    fill(t.periodText, { start: data.period.start, end: data.period.end }),
    teamOrTownship(data.scope),
    fill(t.asOf, { t: dateTimeText(data.period.as_of) }),
  ].join(" · ");
}

function teamOrTownship(scope) {
  const parts = [scope.township?.name, scope.team?.name].filter(Boolean);
  return parts.length ? parts.join(" · ") : t.county;
}

// --- Charts -----------------------------------------------------------------------------------
const charts = {};

function chart(id) {
  if (!charts[id]) charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
  return charts[id];
}

const base = {
  animation: false,
  textStyle: { fontFamily: FONT },
  grid: { left: 48, right: 24, top: 40, bottom: 56, containLabel: true },
  tooltip: { trigger: "axis" },
};

function townshipName(township) {
  return township ? township.name : t.outsideGrid;
}

function teamName(team) {
  return team ? team.name : t.unrouted;
}

function intervalLabel(interval) {
  return { day: t.intervalDay, week: t.intervalWeek, month: t.intervalMonth }[interval] || "";
}

function renderCharts(data) {
  const series = data.series;
  document.getElementById("chart-series-title").textContent = `${t.seriesTitle}（${intervalLabel(series.interval)}）`;
  chart("chart-series").setOption(
    {
      ...base,
      legend: { type: "scroll", bottom: 0 },
      xAxis: { type: "category", data: series.buckets },
      yAxis: { type: "value", minInterval: 1 },
      series: series.townships.map((row) => ({
        name: townshipName(row.township),
        type: series.interval === "day" ? "line" : "bar",
        data: row.counts,
        symbolSize: 6,
      })),
      graphic: series.townships.length ? [] : [{ type: "text", left: "center", top: "middle", style: { text: t.noData, fontSize: 16, fill: "#5b6472" } }],
    },
    true,
  );

  const teams = data.teams;
  document.getElementById("chart-team-counts-title").textContent = t.teamCountsTitle;
  chart("chart-team-counts").setOption(
    {
      ...base,
      legend: { bottom: 0 },
      xAxis: { type: "category", data: teams.map((row) => teamName(row.team)), axisLabel: { interval: 0, rotate: teams.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: t.registered, type: "bar", data: teams.map((row) => row.counts.registered) },
        { name: t.closed, type: "bar", data: teams.map((row) => row.counts.closed) },
      ],
    },
    true,
  );

  document.getElementById("chart-team-rates-title").textContent = t.teamRatesTitle;
  chart("chart-team-rates").setOption(
    {
      ...base,
      legend: { bottom: 0 },
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : `${v}%`) },
      xAxis: { type: "category", data: teams.map((row) => teamName(row.team)), axisLabel: { interval: 0, rotate: teams.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: ["closure_rate", "on_time_rate", "rework_rate"].map((code) => ({
        name: indicatorByCode[code].label,
        type: "bar",
        data: teams.map((row) => percent(row.indicators[code].value)),
      })),
    },
    true,
  );

  const townships = data.townships;
  const target = percent(data.indicators.township_share.target ?? state.target);
  document.getElementById("chart-township-share-title").textContent = t.townshipShareTitle;
  chart("chart-township-share").setOption(
    {
      ...base,
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : `${v}%`) },
      xAxis: { type: "category", data: townships.map((row) => townshipName(row.township)), axisLabel: { interval: 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [
        {
          name: indicatorByCode.township_share.label,
          type: "bar",
          data: townships.map((row) => percent(row.indicators.township_share.value)),
          itemStyle: { color: "#0f2a4a" },
          markLine: {
            symbol: "none",
            lineStyle: { color: "#c2410c", type: "dashed", width: 2 },
            label: { formatter: fill(t.target, { pct: `${target}%` }), color: "#c2410c" },
            data: [{ yAxis: target }],
          },
        },
      ],
    },
    true,
  );
}

// --- Tables -----------------------------------------------------------------------------------
const TABLE_COUNTS = ["received", "registered", "closed", "overdue_now"];

function renderTable(table, rows, key) {
  const header = el("tr", {}, [
    el("th", { text: key === "team" ? t.teamColumn : t.townshipColumn, attrs: { scope: "col" } }),
    ...TABLE_COUNTS.map((code) => el("th", { text: state.counts.find((c) => c.code === code).label, attrs: { scope: "col" } })),
    ...state.indicators.map((i) => el("th", { text: i.label, attrs: { scope: "col", title: i.definition } })),
  ]);
  const body = rows.map((row) => {
    const who = row[key];
    const name = key === "team" ? teamName(who) : townshipName(who);
    return el("tr", { attrs: { "data-code": who ? who.code : "" } }, [
      el("th", { text: name, attrs: { scope: "row" } }),
      ...TABLE_COUNTS.map((code) => el("td", { text: numberFormat.format(row.counts[code]), attrs: { "data-count": code } })),
      ...state.indicators.map((i) =>
        el("td", {
          text: valueText(row.indicators[i.code], i.unit),
          attrs: { "data-indicator": i.code, title: fractionText(row.indicators[i.code]) },
        }),
      ),
    ]);
  });
  table.replaceChildren(el("thead", {}, [header]), el("tbody", {}, body.length ? body : [el("tr", {}, [el("td", { text: t.noData, attrs: { colspan: 1 + TABLE_COUNTS.length + state.indicators.length } })])]));
}

// --- Inspections: visits avoided by joint inspection, inspections by credit colour ---------------
// County-wide figures of the inspections app for the same period (GET /api/v1/inspections/indicators/).
async function loadInspections({ start, end }, signal) {
  const box = document.getElementById("inspection-cards");
  box.dataset.state = "loading";
  try {
    const data = await api.getJSON(state.api.inspections, { params: { start, end, ...scopeParams() }, signal });
    const avoided = box.querySelector("[data-inspection='visits_avoided']");
    avoided.querySelector(".card-value").textContent = numberFormat.format(data.joint.visits_avoided);
    avoided.querySelector(".card-fraction").textContent = fill(t.inspectionsVisits, {
      before: numberFormat.format(data.joint.visits_before),
      after: numberFormat.format(data.joint.visits_after),
    });
    avoided.dataset.value = String(data.joint.visits_avoided);
    for (const card of box.querySelectorAll("[data-inspection-colour]")) {
      const figures = data.by_colour[card.dataset.inspectionColour];
      card.querySelector(".card-value").textContent = numberFormat.format(figures.total);
      card.querySelector(".card-fraction").textContent = fill(t.inspectionsColour, {
        joint: figures.joint,
        closed: figures.joint_closed,
        draw: figures.draw,
        done: figures.draw_done,
      });
      card.dataset.value = String(figures.total);
    }
    box.dataset.state = "ready";
  } catch (error) {
    if (error.name === "AbortError") return;
    box.dataset.state = "error";
  }
}

// --- Loading ----------------------------------------------------------------------------------
async function load() {
  showFormMessage("");
  if (startInput.value && endInput.value && endInput.value < startInput.value) {
    showFormMessage(t.badRange);
    return;
  }
  writeAddress();
  updateExports();
  if (controller) controller.abort();
  controller = new AbortController();
  root.dataset.state = "loading";
  loadInspections(query(), controller.signal);
  try {
    const data = await api.getJSON(state.api.indicators, { params: query(), signal: controller.signal });
    renderCards(data);
    renderCharts(data);
    renderTable(document.getElementById("team-table"), data.teams, "team");
    renderTable(document.getElementById("township-table"), data.townships, "township");
    root.dataset.state = "ready";
    root.dataset.loaded = `${data.period.start}/${data.period.end}/${scopeSelect.value}/${data.series.interval}`;
  } catch (error) {
    if (error.name === "AbortError") return;
    root.dataset.state = "error";
    showFormMessage(error instanceof api.ApiError && error.fieldMessage ? error.fieldMessage : t.loadFailed);
  }
}

for (const button of periodButtons) {
  button.addEventListener("click", () => {
    applyPreset(button.dataset.period);
    if (button.dataset.period === "custom") startInput.focus();
    else load();
  });
}
for (const input of [startInput, endInput]) {
  input.addEventListener("change", () => {
    markPreset("custom");
    load();
  });
}
scopeSelect.addEventListener("change", load);
intervalSelect.addEventListener("change", load);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
window.addEventListener("resize", () => {
  for (const instance of Object.values(charts)) instance.resize();
});

readAddress();
load();
