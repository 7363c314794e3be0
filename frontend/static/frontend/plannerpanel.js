// UI module of the planner page: the side panels (versions, zones, legend, validation, figures)
// and the publish diff. Pure rendering from plain data into the given elements; the callbacks
// passed in are the only way out. Text is always set as text (dom.el), never as HTML.

import { el, fill } from "./dom.js";

const SHOWN_PROBLEMS = 200;

// --- versions ---------------------------------------------------------------------------------

export function renderVersions(select, versions, currentId, t, timeText) {
  const inForce = versions.filter((v) => v.in_force);
  const drafts = versions.filter((v) => v.status === "draft");
  const history = versions.filter((v) => v.status !== "draft" && !v.in_force);
  const option = (v) => {
    const when = v.effective_from ? ` · ${timeText(v.effective_from)}` : "";
    const label = `${v.name}（${t.statusLabels[v.status] || v.status}${when}）`;
    return el("option", { text: label, attrs: { value: String(v.id), "data-status": v.status } });
  };
  const groups = [
    [t.inForce, inForce],
    [t.drafts, drafts],
    [t.history, history],
  ]
    .filter(([, rows]) => rows.length)
    .map(([label, rows]) => el("optgroup", { attrs: { label } }, rows.map(option)));
  select.replaceChildren(...groups);
  if (currentId !== null && currentId !== undefined) select.value = String(currentId);
}

// --- zones ------------------------------------------------------------------------------------

export function renderDomains(select, domains, current, labels) {
  select.replaceChildren(...domains.map((d) => el("option", { text: labels[d] || d, attrs: { value: d } })));
  select.value = current;
}

export function renderZones(list, zones, { selectedId, colourOf, t, onSelect }) {
  if (!zones.length) {
    list.replaceChildren(el("li", { className: "muted", text: t.noZones }));
    return;
  }
  list.replaceChildren(
    ...zones.map((zone) => {
      const button = el(
        "button",
        {
          className: "zone-button",
          attrs: {
            type: "button",
            "data-zone-id": String(zone.id),
            "data-team-code": zone.team.code,
            "aria-pressed": String(zone.id === selectedId),
          },
        },
        [
          el("span", { className: "swatch", attrs: { style: `--swatch: ${colourOf(zone.team.code)}` } }),
          el("span", { className: "zone-name", text: zone.name }),
          el("span", { className: "zone-team muted", text: zone.team.name }),
          el("span", { className: "zone-count", text: fill(t.zoneCells, { n: zone.cells.size }) }),
        ],
      );
      button.addEventListener("click", () => onSelect(zone.id));
      return el("li", {}, [button]);
    }),
  );
}

export function renderLegend(legend, zones, { colourOf, t }) {
  const teams = new Map(zones.map((z) => [z.team.code, z.team.name]));
  legend.replaceChildren(
    ...[...teams].map(([code, name]) =>
      el("span", { className: "legend-item" }, [
        el("span", { className: "swatch", attrs: { style: `--swatch: ${colourOf(code)}` } }),
        el("span", { text: name }),
      ]),
    ),
    el("span", { className: "legend-item" }, [el("span", { className: "swatch swatch-gap" }), el("span", { text: t.gapSwatch })]),
    el("span", { className: "legend-item" }, [
      el("span", { className: "swatch swatch-overlap" }),
      el("span", { text: t.overlapSwatch }),
    ]),
  );
}

// --- validation -------------------------------------------------------------------------------

export function renderValidation(container, badge, validation, { t, domains, cellName, onCell }) {
  if (!validation) {
    badge.textContent = t.validating;
    badge.dataset.state = "unknown";
    container.dataset.state = "loading";
    return;
  }
  const gaps = validation.gaps || [];
  const overlaps = validation.overlaps || [];
  badge.textContent = fill(t.badge, { gaps: gaps.length, overlaps: overlaps.length });
  badge.dataset.state = gaps.length || overlaps.length ? "problems" : "ok";
  badge.dataset.gaps = String(gaps.length);
  badge.dataset.overlaps = String(overlaps.length);
  container.dataset.state = badge.dataset.state;
  if (!gaps.length && !overlaps.length) {
    container.replaceChildren(el("p", { className: "ok-text", text: t.noProblems }));
    return;
  }
  const section = (kind, title, rows) => {
    if (!rows.length) return null;
    const shown = rows.slice(0, SHOWN_PROBLEMS);
    return el("section", { className: `problems problems-${kind}` }, [
      el("h3", { text: `${title} · ${rows.length}` }),
      el(
        "ul",
        { className: "problem-list", attrs: { "data-kind": kind } },
        shown.map((p) => {
          const button = el(
            "button",
            { className: "problem", attrs: { type: "button", "data-cell": p.cell || "", "data-domain": p.domain || "" } },
            [
              el("span", { className: "problem-cell", text: cellName(p.cell) }),
              el("span", { className: "problem-domain muted", text: domains[p.domain] || p.domain || "" }),
              p.zones?.length ? el("span", { className: "problem-zones", text: p.zones.join("、") }) : null,
            ],
          );
          button.addEventListener("click", () => onCell(p));
          return el("li", {}, [button]);
        }),
      ),
      rows.length > shown.length ? el("p", { className: "muted", text: fill(t.more, { n: rows.length - shown.length }) }) : null,
    ]);
  };
  container.replaceChildren(
    ...[section("gap", t.gaps, gaps), section("overlap", t.overlaps, overlaps)].filter(Boolean),
  );
}

// --- figures ----------------------------------------------------------------------------------

const ZONE_COLUMNS = [
  "name",
  "team",
  "cells",
  "area_km2",
  "townships",
  "officers",
  "base_to_farthest_cell_km",
  "reports_90d",
  "reports_per_officer",
];
const TEAM_COLUMNS = ["name", "zones", "cells", "officers", "reports_90d", "reports_per_officer"];

function cellValue(row, column) {
  const value = row[column];
  if (column === "team") return value?.name ?? "";
  if (column === "townships") return (value || []).map((tw) => tw.name).join("、");
  return value;
}

function numberText(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return String(value);
}

function sortedRows(rows, sort) {
  if (!sort) return rows;
  const { column, descending } = sort;
  return [...rows].sort((a, b) => {
    const x = cellValue(a, column);
    const y = cellValue(b, column);
    const order =
      typeof x === "number" && typeof y === "number"
        ? x - y
        : String(x ?? "").localeCompare(String(y ?? ""), "zh");
    return descending ? -order : order;
  });
}

function figuresTable(kind, rows, columns, { t, sort, onSort }) {
  const heaviest = Math.max(...rows.map((r) => (typeof r.reports_per_officer === "number" ? r.reports_per_officer : -Infinity)));
  const current = sort?.table === kind ? sort : null;
  const head = el(
    "tr",
    {},
    columns.map((column) => {
      const active = current?.column === column;
      const button = el("button", {
        className: "sort-button",
        text: t.columns[column] || column,
        attrs: { type: "button", title: t.sortBy, "data-column": column },
      });
      button.addEventListener("click", () => onSort(kind, column));
      return el(
        "th",
        { attrs: { scope: "col", "aria-sort": active ? (current.descending ? "descending" : "ascending") : "none" } },
        [button],
      );
    }),
  );
  const body = sortedRows(rows, current).map((row) => {
    const isHeaviest = rows.length > 1 && row.reports_per_officer === heaviest && Number.isFinite(heaviest);
    return el(
      "tr",
      { className: isHeaviest ? "is-heaviest" : "", attrs: isHeaviest ? { title: t.heaviest } : {} },
      columns.map((column) => {
        const value = cellValue(row, column);
        return el("td", { className: typeof value === "number" ? "num" : "", text: typeof value === "number" ? numberText(value) : value || "—" });
      }),
    );
  });
  return el("table", { className: "figures-table", attrs: { "data-table": kind } }, [
    el("thead", {}, [head]),
    el("tbody", {}, body),
  ]);
}

export function renderFigures(container, figures, { t, sort, onSort, unavailable }) {
  if (unavailable || !figures) {
    container.dataset.state = unavailable ? "unavailable" : "loading";
    container.replaceChildren(el("p", { className: "muted", text: unavailable ? t.figuresUnavailable : t.loading }));
    return;
  }
  container.dataset.state = "ready";
  const balance = figures.balance || {};
  const parts = [
    el("p", { className: "muted", text: fill(t.figures, { n: figures.window_days ?? 90 }) }),
    balance.max_per_officer !== undefined && balance.max_per_officer !== null
      ? el("p", {
          className: "balance",
          text: fill(t.balance, {
            max: numberText(balance.max_per_officer),
            min: numberText(balance.min_per_officer),
            ratio: numberText(balance.ratio),
          }),
        })
      : null,
    el("h3", { text: t.figuresByTeam }),
    el("div", { className: "table-wrap" }, [figuresTable("teams", figures.teams || [], TEAM_COLUMNS, { t, sort, onSort })]),
    el("h3", { text: t.figuresByZone }),
    el("div", { className: "table-wrap" }, [figuresTable("zones", figures.zones || [], ZONE_COLUMNS, { t, sort, onSort })]),
  ];
  container.replaceChildren(...parts.filter(Boolean));
}

// --- publish diff -----------------------------------------------------------------------------

const DIFF_ROWS = 50;

export function renderDiff(container, diff, { t, domains = {}, unavailable }) {
  if (unavailable || !diff) {
    container.dataset.state = unavailable ? "unavailable" : "loading";
    container.replaceChildren(el("p", { className: "muted", text: unavailable ? t.diffUnavailable : t.loading }));
    return;
  }
  container.dataset.state = "ready";
  const who = (team) => (team ? team.name : t.none);
  const cells = diff.cells_changing_team || [];
  const cases = diff.open_cases_changing_owner || [];
  const workload = diff.monthly_workload || [];
  const table = (kind, headers, rows) =>
    el("table", { className: "diff-table", attrs: { "data-table": kind } }, [
      el("thead", {}, [el("tr", {}, headers.map((h) => el("th", { text: h, attrs: { scope: "col" } })))]),
      el("tbody", {}, rows),
    ]);
  const cellsCount = diff.cells_changing_team_count ?? cells.length;
  const casesCount = diff.open_cases_changing_owner_count ?? cases.length;
  const parts = [
    el("h3", { text: `${t.diff}${diff.against ? `：${diff.against.name}` : ""}` }),
    el("p", { className: "diff-count", attrs: { "data-count": String(cellsCount) }, text: fill(t.cellsChangingTeam, { n: cellsCount }) }),
    cells.length
      ? table(
          "cells",
          [t.cell, t.domain, t.from, t.to],
          cells.slice(0, DIFF_ROWS).map((row) =>
            el("tr", {}, [
              el("td", { text: row.cell ? `${row.cell.name}（${row.cell.code}）` : "—" }),
              el("td", { text: domains[row.domain] || row.domain || "" }),
              el("td", { text: who(row.from) }),
              el("td", { text: who(row.to) }),
            ]),
          ),
        )
      : null,
    el("p", { className: "diff-count", attrs: { "data-count": String(casesCount) }, text: fill(t.casesChangingOwner, { n: casesCount }) }),
    cases.length
      ? table(
          "cases",
          [t.case, t.from, t.to],
          cases.slice(0, DIFF_ROWS).map((row) =>
            el("tr", {}, [
              el("td", { text: [row.number, row.matter?.name].filter(Boolean).join(" ") }),
              el("td", { text: who(row.from) }),
              el("td", { text: who(row.to) }),
            ]),
          ),
        )
      : null,
    el("h4", { text: fill(t.monthlyWorkload, { n: diff.window_days ?? 90 }) }),
    table(
      "workload",
      [t.team, t.before, t.after, t.delta],
      workload.map((row) =>
        el("tr", {}, [
          el("td", { text: row.team?.name || "" }),
          el("td", { className: "num", text: numberText(row.before) }),
          el("td", { className: "num", text: numberText(row.after) }),
          el("td", { className: `num ${row.delta > 0 ? "is-up" : row.delta < 0 ? "is-down" : ""}`, text: (row.delta > 0 ? "+" : "") + numberText(row.delta) }),
        ]),
      ),
    ),
  ];
  container.replaceChildren(...parts.filter(Boolean));
}
