// Small DOM helpers shared by the page modules. No state, no Leaflet.

// el("li", {className, text, attrs}, [children]): an element, text set as text (never as HTML).
export function el(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// "%(name)s" placeholders of Django's gettext strings filled from `values`.
export function fill(template, values) {
  return String(template || "").replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

// A formatter of instants in the county's time zone (Asia/Shanghai), whatever the browser's zone.
export function timeFormatter(language, timeZone, { seconds = true, date = true } = {}) {
  const format = new Intl.DateTimeFormat(language, {
    timeZone,
    ...(date ? { year: "numeric", month: "2-digit", day: "2-digit" } : {}),
    hour: "2-digit",
    minute: "2-digit",
    ...(seconds ? { second: "2-digit" } : {}),
    hour12: false,
  });
  return (value) => (value ? format.format(value instanceof Date ? value : new Date(value)) : "");
}

// "2小时5分" style durations in the page's language (always positive: the caller says left or over).
export function duration(ms, t) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60_000));
  if (minutes < 60) return fill(t.minutes, { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return fill(t.hours, { n: hours }) + (rest ? fill(t.minutes, { n: rest }) : "");
  }
  return fill(t.days, { n: Math.floor(hours / 24) });
}
