// UI module: one report's detail beside the wall map — photos, the matter, the responsible team
// and the reasons it was chosen, the timeline — with the dispatcher's actions (acknowledge, assign
// or reassign to a team). The case loop's actions plug in here later.

import * as api from "./api.js";
import { el, timeFormatter } from "./dom.js";

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
        const extra = item.to_team ? ` → ${teamName(item.to_team)}` : item.note ? ` · ${item.note}` : "";
        return el("li", { attrs: { "data-event": item.event } }, [
          el("time", { text: at(item.at) }),
          el("span", { text: `${t.events[item.event] || item.event}${who}${extra}` }),
          item.to_team && item.note ? el("small", { text: item.note }) : null,
        ]);
      }),
    );
  }

  function teamName(code) {
    return state.teams.find((team) => team.code === code)?.name || code;
  }

  function actions(report) {
    if (!["new", "triage", "acknowledged"].includes(report.status)) {
      return el("p", { className: "muted", text: t.caseLoopLater });
    }
    if (!state.canDispatch) return el("p", { className: "muted", text: t.readOnly });
    const message = el("p", { className: "action-message", attrs: { role: "status" } });
    const acknowledge = el("button", {
      className: "action action-acknowledge",
      text: t.acknowledge,
      attrs: { type: "button", "data-action": "acknowledge" },
    });
    acknowledge.disabled = report.status !== "new";
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

    async function run(button, call) {
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
        const detail = error instanceof api.ApiError ? error.fieldMessage : "";
        message.textContent = detail ? `${t.actionFailed}：${detail}` : t.actionFailed;
        message.classList.add("is-error");
        button.disabled = false;
      }
    }
    acknowledge.addEventListener("click", () =>
      run(acknowledge, () => api.reportAcknowledge(state.api, report.id, { csrfToken: state.csrfToken })),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(assign, () =>
        api.reportAssign(state.api, report.id, { team: select.value, note: note.value, csrfToken: state.csrfToken }),
      );
    });
    return el("div", { className: "detail-actions" }, [acknowledge, form, message]);
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
      el("h3", { text: t.timeline }),
      timeline(report),
    ];
    const unchanged =
      before?.id === report.id &&
      before.status === report.status &&
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
