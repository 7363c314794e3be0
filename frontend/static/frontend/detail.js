// UI module: one case's detail beside the wall map — photos, the matter, the responsible team and
// the reasons it was chosen, where the case stands, its full record — with the steps of the closed
// loop the signed-in person may take now (the server lists them: case.allowed_actions) and, for
// dispatchers, assigning to a team.

import * as api from "./api.js";
import { el, fill, timeFormatter } from "./dom.js";

export function reportDetail(panel, body, { state, t, onClose, onChanged }) {
  const at = timeFormatter(document.documentElement.lang || "zh-hans", state.timeZone);
  let current = null; // the report shown (detail JSON)
  let controller = null;

  function named(item) {
    if (!item) return t.none;
    return item.code ? `${item.name}（${item.code}）` : item.name;
  }

  function facts(report) {
    const rows = [
      [t.status, t.statusLabels[report.status] || report.status],
      [t.source, t.sourceLabels[report.source] || report.source],
      [t.matter, report.matter ? `${report.matter.name}（${report.matter.code}）· ${state.domains[report.matter.domain] || ""}` : t.noMatter],
      [t.township, named(report.township)],
      [t.village, named(report.village)],
      [t.cell, named(report.cell)],
      [t.zone, report.zone ? report.zone.name : t.none],
      [t.receivedAt, at(report.received_at)],
      [t.dueAt, report.due_at ? at(report.due_at) : t.none],
    ];
    if (report.description) rows.push([t.description, report.description]);
    if (report.reporter || report.reporter_name) {
      const who = report.reporter?.name || report.reporter_name;
      rows.push([t.reporter, [who, report.reporter_phone].filter(Boolean).join(" ")]);
    }
    if (report.camera) rows.push([t.camera, report.camera.name]);
    if (report.repeat_count > 1) rows.push([t.repeat, String(report.repeat_count)]);
    const c = report.case || {};
    if (c.assigned_unit) rows.push([t.caseUnit, c.assigned_unit.name]);
    if (c.handler) rows.push([t.caseHandler, c.handler.name]);
    if (c.escalated_from) rows.push([t.caseEscalatedFrom, c.escalated_from.name]);
    if (c.escalation_due_at) rows.push([t.caseReportInDue, at(c.escalation_due_at)]);
    if (c.extension_request) rows.push([t.caseExtensionPending, fill(t.caseDays, { n: c.extension_request.days })]);
    if (c.extension_count) rows.push([t.caseExtensions, String(c.extension_count)]);
    if (c.rework_count) rows.push([t.caseRework, String(c.rework_count)]);
    if (c.referral?.to) rows.push([t.caseReferral, c.referral.to]);
    return el(
      "dl",
      { className: "detail-facts" },
      rows.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: value })]),
    );
  }

  function teamBox(report) {
    if (!report.team) {
      const queue = state.triageQueues[report.triage_queue] || report.triage_queue || "";
      return el("p", { className: "detail-team is-triage", attrs: { "data-team-code": "" } }, [
        el("strong", { text: t.triage }),
        el("span", { text: queue }),
      ]);
    }
    return el("p", { className: "detail-team", attrs: { "data-team-code": report.team.code } }, [
      el("span", { className: "team-label", text: t.team }),
      el("strong", { text: report.team.name }),
      report.team.phone ? el("span", { text: report.team.phone }) : null,
    ]);
  }

  function reasons(report) {
    return el(
      "ol",
      { className: "detail-reasons" },
      (report.reasons || []).map((reason) =>
        el("li", { text: reason.text, attrs: { "data-reason": reason.code || "" } }),
      ),
    );
  }

  function photos(report) {
    if (!report.photos?.length) return el("p", { className: "muted", text: t.noPhotos });
    return el(
      "ul",
      { className: "detail-photos" },
      report.photos.map((photo) =>
        el("li", {}, [
          el("a", { attrs: { href: photo.image, target: "_blank", rel: "noopener" } }, [
            el("img", {
              attrs: {
                src: photo.thumbnail || photo.image,
                alt: t.photos,
                loading: "lazy",
                width: "160",
              },
            }),
          ]),
        ]),
      ),
    );
  }

  function timeline(report) {
    return el(
      "ol",
      { className: "detail-timeline" },
      (report.timeline || []).map((item) => {
        const who = item.actor_name ? ` · ${item.actor_name}` : "";
        const label = item.label || t.events[item.event] || item.event;
        const extra = item.to_team ? ` → ${teamName(item.to_team)}` : "";
        return el("li", { attrs: { "data-event": item.event } }, [
          el("time", { text: at(item.at) }),
          el("span", { text: `${label}${who}${extra}` }),
          item.note ? el("small", { text: item.note }) : null,
          item.photos?.length
            ? el(
                "span",
                { className: "timeline-photos" },
                item.photos.map((photo) =>
                  el("a", { attrs: { href: photo.image, target: "_blank", rel: "noopener" } }, [
                    el("img", { attrs: { src: photo.thumbnail, alt: label, width: "48", loading: "lazy" } }),
                  ]),
                ),
              )
            : null,
        ]);
      }),
    );
  }

  function teamName(code) {
    return state.teams.find((team) => team.code === code)?.name || code;
  }

  // Where the person stands, for steps that record it (verification): the browser's location.
  function here() {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation) return reject(new Error(t.noLocation));
      navigator.geolocation.getCurrentPosition(
        (position) => resolve({ lon: position.coords.longitude, lat: position.coords.latitude }),
        () => reject(new Error(t.noLocation)),
        { enableHighAccuracy: true, timeout: 10_000, maximumAge: 60_000 },
      );
    });
  }

  // The inputs one step needs, beside its note: a unit, a team, a referral, days, photos.
  function stepInputs(report, action) {
    const inputs = [];
    if (action.action === "dispatch") {
      // The team's units, best first, with why (GET …/recommend/); the dispatcher picks.
      const select = el("select", { className: "select", attrs: { name: "unit", "aria-label": t.caseUnit } }, [
        el("option", { text: t.noUnit, attrs: { value: "" } }),
      ]);
      const why = el("ul", { className: "recommend-reasons" });
      const candidates = new Map();
      const explain = () => {
        const row = candidates.get(select.value);
        why.replaceChildren(...(row ? row.reasons.map((reason) => el("li", { text: reason })) : []));
      };
      select.addEventListener("change", explain);
      api.caseRecommend(state.api, report.id).then(
        (rows) => {
          for (const row of rows) {
            candidates.set(row.unit.code, row);
            const distance = row.distance_m !== null ? ` · ${(row.distance_m / 1000).toFixed(1)} km` : "";
            const text = `${row.recommended ? "★ " : ""}${row.unit.name}${distance} · ${fill(t.inHand, { n: row.in_hand })}`;
            select.append(el("option", { text, attrs: { value: row.unit.code, "data-recommended": String(row.recommended) } }));
          }
          const best = rows.find((row) => row.recommended);
          if (best) select.value = best.unit.code;
          explain();
        },
        () => why.replaceChildren(el("li", { className: "muted", text: t.recommendFailed })),
      );
      inputs.push(select, why);
    }
    if (["escalate", "refer"].includes(action.action)) {
      if (action.action === "refer") {
        const kind = el(
          "select",
          { className: "select", attrs: { name: "to_kind", "aria-label": t.referTo } },
          Object.entries(state.referralKinds).map(([value, label]) => el("option", { text: label, attrs: { value } })),
        );
        const name = el("input", { className: "input", attrs: { name: "to_name", maxlength: "100", placeholder: t.referToName } });
        inputs.push(kind, name);
      }
      const professional = state.teams.filter((team) => team.kind === "professional");
      inputs.push(
        el(
          "select",
          { className: "select", attrs: { name: "team", "aria-label": t.countyTeam } },
          [
            el("option", { text: t.teamByMatter, attrs: { value: "" } }),
            ...professional.map((team) => el("option", { text: team.name, attrs: { value: team.code } })),
          ],
        ),
      );
    }
    if (action.action === "request_extension") {
      inputs.push(
        el("input", {
          className: "input",
          attrs: { name: "days", type: "number", min: "1", max: String(state.extensionMaxDays), value: "5", "aria-label": t.extensionDays },
        }),
      );
    }
    if (action.needs_photos) {
      inputs.push(
        el("input", { className: "input", attrs: { name: "photos", type: "file", accept: "image/*", multiple: "", "aria-label": t.afterPhotos } }),
      );
    }
    return inputs;
  }

  function stepForm(report, action, message) {
    const note = el("textarea", {
      className: "input",
      attrs: {
        name: "note",
        rows: "2",
        maxlength: "1000",
        placeholder: action.needs_note ? t.noteRequired : t.noteOptional,
        "aria-label": t.note,
      },
    });
    if (action.needs_note) note.required = true;
    const submit = el("button", { className: "action action-confirm", text: fill(t.confirmStep, { action: action.label }), attrs: { type: "submit" } });
    const cancel = el("button", { className: "action action-cancel", text: t.cancel, attrs: { type: "button" } });
    const form = el("form", { className: "step-form", attrs: { "data-step": action.action } }, [
      ...stepInputs(report, action),
      note,
      el("div", { className: "step-buttons" }, [submit, cancel]),
    ]);
    cancel.addEventListener("click", () => form.remove());
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(submit, message, async () => {
        const fields = { action: action.action };
        for (const input of form.elements) {
          if (!input.name || input.type === "file") continue;
          if (input.value !== "") fields[input.name] = input.value;
        }
        if (action.needs_location) Object.assign(fields, await here());
        const files = form.elements.photos ? [...form.elements.photos.files] : [];
        return api.caseStep(state.api, report.id, { fields, files, csrfToken: state.csrfToken });
      });
    });
    return form;
  }

  async function run(button, message, call) {
    button.disabled = true;
    message.textContent = "";
    message.className = "action-message";
    try {
      const updated = await call();
      current = null; // done: the actions are drawn again for the new state
      show(updated);
      const done = body.querySelector(".action-message");
      if (done) done.textContent = t.actionDone;
      onChanged?.(updated);
    } catch (error) {
      const detail = error instanceof api.ApiError ? error.fieldMessage : error.message || "";
      message.textContent = detail ? `${t.actionFailed}：${detail}` : t.actionFailed;
      message.classList.add("is-error");
      button.disabled = false;
    }
  }

  function actions(report) {
    const message = el("p", { className: "action-message", attrs: { role: "status" } });
    const steps = report.case?.allowed_actions || [];
    const slot = el("div", { className: "step-slot" });
    const buttons = steps.map((action) => {
      const button = el("button", {
        className: `action action-step action-${action.action}`,
        text: action.label,
        attrs: { type: "button", "data-action": action.action },
      });
      button.addEventListener("click", () => {
        for (const other of body.querySelectorAll(".action-step")) other.classList.toggle("is-active", other === button);
        slot.replaceChildren(stepForm(report, action, message));
        slot.querySelector("select, input, textarea")?.focus();
      });
      return button;
    });
    const parts = [];
    if (buttons.length) parts.push(el("div", { className: "step-buttons" }, buttons), slot);
    if (state.canDispatch && ["new", "triage", "registered"].includes(report.status)) parts.push(assignForm(report, message));
    if (!parts.length) return el("p", { className: "muted", text: t.noSteps });
    parts.push(message);
    return el("div", { className: "detail-actions" }, parts);
  }

  function assignForm(report, message) {
    const select = el(
      "select",
      { className: "select", attrs: { name: "team", "aria-label": t.assignTo } },
      state.teams.map((team) => el("option", { text: team.name, attrs: { value: team.code } })),
    );
    if (report.team) select.value = report.team.code;
    const note = el("input", {
      className: "input",
      attrs: { name: "note", maxlength: "500", placeholder: t.assignNote, "aria-label": t.assignNote },
    });
    const assign = el("button", {
      className: "action action-assign",
      text: report.team ? t.reassign : t.assign,
      attrs: { type: "submit", "data-action": "assign" },
    });
    const form = el("form", { className: "assign-form" }, [select, note, assign]);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(assign, message, () =>
        api.reportAssign(state.api, report.id, { team: select.value, note: note.value, csrfToken: state.csrfToken }),
      );
    });
    return form;
  }

  // The dispatcher may be picking a team or typing a note when a live update of the same report
  // arrives. Then everything is redrawn except the actions, which stay the same elements (focus,
  // selection and text intact) unless what they act on changed (status or team).
  const ACTIONS = 4; // index of the actions block among the parts below

  function show(report) {
    const before = current;
    current = report;
    panel.hidden = false;
    panel.dataset.reportId = String(report.id);
    panel.dataset.status = report.status;
    const parts = [
      el("p", { className: `detail-number status-${report.status}` }, [
        el("strong", { text: report.number }),
        report.priority ? el("span", { className: "badge-urgent", text: t.urgent }) : null,
        el("span", { className: "detail-status", text: t.statusLabels[report.status] || report.status }),
      ]),
      teamBox(report),
      el("h3", { text: t.reasons }),
      reasons(report),
      null, // actions
      el("h3", { text: t.photos }),
      photos(report),
      facts(report),
      el("h3", { className: "timeline-head" }, [
        el("span", { text: t.timeline }),
        el("a", {
          className: "record-link",
          text: t.printRecord,
          attrs: { href: state.recordPage.replace("{id}", String(report.id)), target: "_blank", rel: "noopener" },
        }),
      ]),
      timeline(report),
    ];
    const unchanged =
      before?.id === report.id &&
      before.status === report.status &&
      (before.case?.record_seq ?? before.case?.events?.length) === (report.case?.record_seq ?? report.case?.events?.length) &&
      (before.team?.code ?? null) === (report.team?.code ?? null) &&
      body.children.length === parts.length;
    if (!unchanged) {
      parts[ACTIONS] = actions(report);
      body.replaceChildren(...parts);
      return;
    }
    parts.forEach((part, i) => {
      if (i !== ACTIONS) body.children[i].replaceWith(part);
    });
  }

  async function open(id) {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    const again = current?.id === id && !panel.hidden;
    panel.hidden = false;
    panel.dataset.reportId = String(id);
    if (!again) {
      // A different report: say it is loading. The same one again (a live update): keep showing
      // it until the fresh copy arrives, so the wall does not flicker.
      current = null;
      panel.dataset.status = "loading";
      body.replaceChildren(el("p", { className: "muted", text: t.loading }));
    }
    try {
      const report = await api.report(state.api, id, { signal: mine.signal });
      if (!mine.signal.aborted) show(report);
    } catch (error) {
      if (error.name === "AbortError") return;
      panel.dataset.status = "error";
      body.replaceChildren(el("p", { className: "action-message is-error", text: t.loadDetailFailed }));
    }
  }

  function close() {
    if (controller) controller.abort();
    current = null;
    panel.hidden = true;
    delete panel.dataset.reportId;
    onClose?.();
  }

  return {
    open,
    close,
    currentId: () => (current ? current.id : panel.hidden ? null : Number(panel.dataset.reportId)),
    // A live event about the report on show: fetch it again so the timeline is complete.
    refreshIf(id) {
      if (!panel.hidden && Number(panel.dataset.reportId) === id) open(id);
    },
  };
}
