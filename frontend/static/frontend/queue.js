// UI module: the command centre's case queue — every open report, the most urgent first, with the
// time left before its deadline, filterable by township, team, source and matter domain.
// No Leaflet, no fetching: the page hands rows in (REST snapshot and live events alike).

import { duration, el, fill } from "./dom.js";

export { duration };

const MINUTE = 60_000;
const FRESH_MS = 4000; // how long a new row is highlighted

// Urgent before normal; within each, the nearest deadline first (overdue ones are the nearest);
// then the oldest. A report without a deadline sorts last.
export function compareUrgency(a, b) {
  if ((b.priority || 0) !== (a.priority || 0)) return (b.priority || 0) - (a.priority || 0);
  const da = a.due_at ? Date.parse(a.due_at) : Infinity;
  const db = b.due_at ? Date.parse(b.due_at) : Infinity;
  if (da !== db) return da - db;
  return Date.parse(a.received_at || 0) - Date.parse(b.received_at || 0) || a.id - b.id;
}

function matches(row, filters) {
  if (filters.township && row.township?.code !== filters.township) return false;
  if (filters.team && (row.team?.code ?? row.team) !== filters.team) return false;
  if (filters.source && row.source !== filters.source) return false;
  if (filters.domain && row.matter?.domain !== filters.domain) return false;
  return true;
}

// `openStatuses`: the states with work still to do (gridops.lifecycle.OPEN, handed over by the page).
export function caseQueue(listElement, { t, openStatuses, countElement, onSelect, now = () => Date.now() }) {
  const OPEN = new Set(openStatuses);
  const rows = new Map(); // id -> row (open reports only)
  const items = new Map(); // id -> <li>
  let filters = {};
  let selected = null;

  function timeLeft(row) {
    if (!row.due_at) return { text: "", overdue: false };
    const left = Date.parse(row.due_at) - now();
    return left < 0
      ? { text: fill(t.overdueBy, { t: duration(left, t) }), overdue: true }
      : { text: fill(t.timeLeft, { t: duration(left, t) }), overdue: false, soon: left < 30 * MINUTE };
  }

  function render(row) {
    const clock = timeLeft(row);
    const who = row.team ? row.team.name : t.triage;
    const what = row.matter ? row.matter.name : t.noMatter;
    const item = el(
      "li",
      {
        className: "queue-row",
        attrs: {
          "data-report-id": String(row.id),
          "data-status": row.status,
          "data-overdue": String(clock.overdue),
          "data-priority": String(row.priority || 0),
          tabindex: "0",
          role: "button",
        },
      },
      [
        el("span", { className: "queue-status", text: t.statusLabels[row.status] || row.status }),
        el("span", { className: "queue-main" }, [
          el("strong", { className: "queue-matter", text: what + (row.repeat_count > 1 ? ` ×${row.repeat_count}` : "") }),
          el("span", { className: "queue-where", text: `${row.township?.name || ""} · ${who}` }),
          el("span", { className: "queue-number", text: `${row.number} · ${t.sourceLabels[row.source] || row.source}` }),
        ]),
        el("span", { className: "queue-clock" }, [
          row.priority ? el("span", { className: "badge-urgent", text: t.urgent }) : null,
          el("span", {
            className: `queue-left${clock.overdue ? " is-overdue" : clock.soon ? " is-soon" : ""}`,
            text: clock.text,
          }),
        ]),
      ],
    );
    if (row.id === selected) item.classList.add("is-selected");
    return item;
  }

  // Only rows whose report changed are built again; the others keep their element and are moved
  // only where the order changed. (Rebuilding every row at each frame with events was most of the
  // page's own cost with hundreds of open reports: bench/ui.py.) `all` rebuilds every row: the
  // time left moves on.
  const rendered = new WeakMap(); // <li> -> the row object it shows
  const placeholder = el("li", { className: "queue-empty", text: t.queueEmpty });

  function redraw({ all = false } = {}) {
    const visible = [...rows.values()].filter((row) => matches(row, filters)).sort(compareUrgency);
    const wanted = visible.map((row) => {
      let item = items.get(row.id);
      if (!item || all || rendered.get(item) !== row) {
        const next = render(row);
        rendered.set(next, row);
        if (item) item.replaceWith(next);
        item = next;
        items.set(row.id, item);
      }
      return item;
    });
    const keep = new Set(wanted);
    for (const [id, item] of items) {
      if (!keep.has(item)) {
        item.remove();
        items.delete(id);
      }
    }
    if (wanted.length) placeholder.remove();
    else listElement.replaceChildren(placeholder);
    let cursor = listElement.firstElementChild;
    for (const item of wanted) {
      if (cursor === item) cursor = cursor.nextElementSibling;
      else listElement.insertBefore(item, cursor);
    }
    if (countElement) countElement.textContent = fill(t.queueShown, { shown: visible.length, total: rows.size });
    listElement.dataset.count = String(visible.length);
  }

  listElement.addEventListener("click", (event) => {
    const item = event.target.closest("[data-report-id]");
    if (item) onSelect?.(Number(item.dataset.reportId));
  });
  listElement.addEventListener("keydown", (event) => {
    const item = event.target.closest("[data-report-id]");
    if (item && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      onSelect?.(Number(item.dataset.reportId));
    }
  });

  let pending = null;
  function scheduleRedraw() {
    // Many events in one frame (a burst of reports) redraw the list once.
    if (pending) return;
    pending = requestAnimationFrame(() => {
      pending = null;
      redraw();
    });
  }

  return {
    upsert(row, { fresh = false } = {}) {
      if (OPEN.has(row.status)) rows.set(row.id, { ...(rows.get(row.id) || {}), ...row });
      else rows.delete(row.id);
      if (fresh) {
        scheduleRedraw();
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            const item = items.get(row.id);
            if (!item) return;
            item.classList.add("is-fresh");
            setTimeout(() => item.classList.remove("is-fresh"), FRESH_MS);
          }),
        );
      } else scheduleRedraw();
    },
    load(list) {
      for (const row of list) if (OPEN.has(row.status)) rows.set(row.id, row);
      redraw();
    },
    clear() {
      rows.clear();
      redraw();
    },
    setFilters(next) {
      filters = next;
      redraw();
    },
    select(id) {
      selected = id;
      for (const [rowId, item] of items) item.classList.toggle("is-selected", rowId === id);
    },
    tick: () => redraw({ all: true }), // time left moves on: the page redraws every half minute
    size: () => rows.size,
  };
}
