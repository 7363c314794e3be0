// The grid worker's verification (核查) of a report they made, once its handler marked it handled.
//
// The card shows what the handler did (their note and after-photos: the newest `handle` step of
// `case.events`) next to what the worker reported, and one button per verification step the API
// allows this worker now (`case.allowed_actions`: 核查通过 / 核查不通过（返工）). Every step records
// where the verifier stands, so the phone's location is asked for at the moment of the tap; without
// it nothing is sent. A failed verification needs a note (said on the page, before anything is sent).
//
//   closed ─open(id)─► loading ─► ready ─tap─► locating ─► sending ─► done
//                                   ▲             │ no location │ refused (field message)
//                                   └─────────────┴─────────────┘
//   ready ─live case.updated (someone else's step, status no longer handled)─► stale
//
// The card sits outside the live list, so the list redrawing on every event never wipes a note
// being typed. Data from the REST API (api.js); no map.

import * as api from "./api.js";
import { el, fill } from "./dom.js";

const VERIFY_ACTIONS = ["verify_pass", "verify_fail"];
const HANDLED = "handled";

// Where the verifier stands: the phone's location now (not a cached fix older than a minute).
function here() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) {
      reject(new Error("geolocation unsupported"));
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) =>
        resolve({ lon: position.coords.longitude, lat: position.coords.latitude, accuracy: position.coords.accuracy }),
      (error) => reject(error),
      { enableHighAccuracy: true, timeout: 15_000, maximumAge: 60_000 },
    );
  });
}

function photoStrip(photos, alt, className) {
  return el(
    "ul",
    { className: `verify-photos ${className}`, attrs: { "data-count": String(photos.length) } },
    photos.map((photo) =>
      el("li", {}, [
        el("a", { attrs: { href: photo.image, target: "_blank", rel: "noopener" } }, [
          el("img", { attrs: { src: photo.thumbnail || photo.image, alt, loading: "lazy" } }),
        ]),
      ]),
    ),
  );
}

export class Verifier {
  // root: the card (#verify-card); state: the page state (api, i18n, statuses, timeZone);
  // csrfToken: () => the token to send; onUpdated(report): the step was taken, here is the case.
  constructor({ root, state, csrfToken, formatTime, onUpdated }) {
    this.root = root;
    this.body = root.querySelector("#verify-body");
    this.number = root.querySelector("#verify-number");
    this.state = state;
    this.t = state.i18n;
    this.csrfToken = csrfToken;
    this.formatTime = formatTime;
    this.onUpdated = onUpdated;
    this.reportId = null;
    this.loading = null;
  }

  get status() {
    return this.root.dataset.state;
  }

  setStatus(status) {
    this.root.dataset.state = status;
    const busy = status === "locating" || status === "sending";
    for (const button of this.root.querySelectorAll(".verify-action")) button.disabled = busy;
  }

  say(text, kind = "info") {
    const message = this.root.querySelector(".verify-message");
    if (!message) return;
    message.textContent = text || "";
    message.dataset.kind = kind;
    message.hidden = !text;
  }

  async open(reportId) {
    this.reportId = reportId;
    this.root.hidden = false;
    this.root.dataset.reportId = String(reportId);
    this.root.dataset.result = "";
    this.number.textContent = "";
    this.setStatus("loading");
    this.body.replaceChildren(el("p", { className: "muted", text: this.t.verifyLoading }));
    this.root.scrollIntoView({ block: "start" });
    const controller = new AbortController();
    this.loading?.abort();
    this.loading = controller;
    try {
      const report = await api.report(this.state.api, reportId, { signal: controller.signal });
      if (controller.signal.aborted || this.reportId !== reportId) return;
      this.render(report);
      this.root.scrollIntoView({ block: "start" }); // again: the card is taller now
    } catch (error) {
      if (error.name === "AbortError" || this.reportId !== reportId) return;
      this.setStatus("error");
      const detail = error instanceof api.ApiError ? error.fieldMessage : "";
      this.body.replaceChildren(
        el("p", { className: "form-error", text: detail || this.t.verifyLoadFailed }),
        this.closeButton(),
      );
    }
  }

  close() {
    this.loading?.abort();
    this.reportId = null;
    this.root.hidden = true;
    this.setStatus("closed");
    this.body.replaceChildren();
  }

  closeButton() {
    const button = el("button", { className: "button-secondary verify-close", text: this.t.verifyClose, attrs: { type: "button" } });
    button.addEventListener("click", () => this.close());
    return button;
  }

  // A live case.updated about the report on the card: someone else took a step meanwhile.
  caseUpdated(data) {
    if (data.id !== this.reportId || this.status !== "ready" || data.status === HANDLED) return;
    this.setStatus("stale");
    for (const node of this.root.querySelectorAll(".verify-form, .verify-actions")) node.remove();
    const taken = fill(this.t.verifyTaken, { status: this.state.statuses[data.status] || data.status });
    // A refusal just shown (the same change reached the server first) stays: it says why.
    const message = this.root.querySelector(".verify-message");
    if (message?.dataset.kind === "error" && !message.hidden) message.textContent = `${message.textContent} ${taken}`;
    else this.say(taken, "info");
  }

  render(report) {
    const t = this.t;
    const caseInfo = report.case || {};
    this.number.textContent = report.number || "";
    this.root.dataset.status = report.status;
    const handled = [...(caseInfo.events || [])].reverse().find((event) => event.action === "handle");
    const allowed = (caseInfo.allowed_actions || []).filter((a) => VERIFY_ACTIONS.includes(a.action));
    // The report's photos include every step's (after-photos…): the worker's own are the others.
    const stepPhotos = new Set((caseInfo.events || []).flatMap((event) => event.photos.map((photo) => photo.id)));
    const reportPhotos = (report.photos || []).filter((photo) => !stepPhotos.has(photo.id));

    const reported = el("div", { className: "verify-reported" }, [
      el("p", { className: "verify-matter", text: report.matter ? report.matter.name : t.noMatter }),
      el("p", { className: "muted", text: [report.team?.name, this.formatTime(report.received_at)].filter(Boolean).join(" · ") }),
      report.description ? el("p", { className: "verify-text", text: report.description }) : null,
      reportPhotos.length ? el("p", { className: "verify-label", text: t.reportPhotos }) : null,
      reportPhotos.length ? photoStrip(reportPhotos, t.reportPhotos, "is-before") : null,
    ]);

    const handledRows = el("dl", { className: "verify-rows" }, [
      el("dt", { text: t.handler }),
      el("dd", { attrs: { "data-field": "handler" }, text: caseInfo.handler?.name || handled?.actor_name || t.none }),
      el("dt", { text: t.handledAt }),
      el("dd", { attrs: { "data-field": "handled-at" }, text: this.formatTime(handled?.at || caseInfo.handled_at) || t.none }),
      el("dt", { text: t.handleNote }),
      el("dd", { className: "verify-handle-note", attrs: { "data-field": "handle-note" }, text: handled?.note || t.none }),
    ]);
    const afterPhotos = handled?.photos || [];
    const handling = el("div", { className: "verify-handled" }, [
      el("h3", { text: t.handledTitle }),
      handledRows,
      el("p", { className: "verify-label", text: t.afterPhotos }),
      afterPhotos.length
        ? photoStrip(afterPhotos, t.afterPhotos, "is-after")
        : el("p", { className: "muted verify-photos is-after", attrs: { "data-count": "0" }, text: t.noAfterPhotos }),
      caseInfo.rework_count ? el("p", { className: "verify-rework", text: fill(t.reworkCount, { n: caseInfo.rework_count }) }) : null,
    ]);

    const parts = [reported, handling];
    const message = el("p", { className: "verify-message", attrs: { role: "status", "data-kind": "info" } });
    message.hidden = true;
    if (report.status === HANDLED && allowed.length) {
      parts.push(this.form(allowed));
    } else if (report.status === HANDLED) {
      parts.push(el("p", { className: "muted verify-not-allowed", text: t.verifyNotAllowed }));
    } else {
      message.hidden = false;
      message.textContent = fill(t.verifyTaken, { status: this.state.statuses[report.status] || report.status });
    }
    parts.push(message, this.closeButton());
    this.body.replaceChildren(...parts);
    this.setStatus(report.status === HANDLED && allowed.length ? "ready" : "stale");
  }

  form(allowed) {
    const t = this.t;
    const note = el("textarea", {
      className: "input",
      attrs: { id: "verify-note", name: "note", rows: "3", maxlength: "1000", placeholder: t.verifyNoteHint },
    });
    const photoInput = el("input", {
      className: "visually-hidden",
      attrs: { id: "verify-photo", type: "file", accept: "image/*", capture: "environment", multiple: "" },
    });
    const chosen = el("p", { className: "muted verify-photo-chosen", attrs: { "data-count": "0" } });
    photoInput.addEventListener("change", () => {
      const n = photoInput.files.length;
      chosen.dataset.count = String(n);
      chosen.textContent = n ? fill(t.photosChosen, { n }) : "";
    });
    const form = el("form", { className: "verify-form", attrs: { novalidate: "" } }, [
      el("label", { className: "field-label", text: t.verifyNote, attrs: { for: "verify-note" } }),
      note,
      el("label", { className: "field-label", text: t.verifyPhoto, attrs: { for: "verify-photo" } }),
      el("label", { className: "photo-pick button-secondary", text: t.photoPick, attrs: { for: "verify-photo" } }),
      photoInput,
      chosen,
    ]);
    form.addEventListener("submit", (event) => event.preventDefault());
    const buttons = allowed.map((action) => {
      const button = el("button", {
        className: `verify-action ${action.action === "verify_pass" ? "verify-pass" : "verify-fail"}`,
        text: action.label,
        attrs: { type: "button", "data-action": action.action },
      });
      button.addEventListener("click", () => this.step(action, { note, photoInput }));
      return button;
    });
    return el("div", { className: "verify-step" }, [
      form,
      el("p", { className: "muted verify-location-hint", text: t.verifyLocationHint }),
      el("div", { className: "verify-actions" }, buttons),
    ]);
  }

  async step(action, { note, photoInput }) {
    const t = this.t;
    if (this.status !== "ready") return;
    const reportId = this.reportId;
    const text = note.value.trim();
    if (action.needs_note && !text) {
      this.say(t.verifyNeedNote, "error");
      note.focus();
      return;
    }
    this.setStatus("locating");
    this.say(t.verifyLocating);
    let position;
    try {
      position = await here();
    } catch {
      if (this.reportId !== reportId) return;
      this.setStatus("ready");
      this.say(t.verifyNoLocation, "error");
      return;
    }
    if (this.reportId !== reportId) return;
    this.setStatus("sending");
    this.say(t.verifySending);
    const fields = { action: action.action, lon: position.lon.toFixed(6), lat: position.lat.toFixed(6) };
    if (text) fields.note = text;
    let updated;
    try {
      updated = await api.caseStep(this.state.api, reportId, {
        fields,
        files: [...photoInput.files],
        csrfToken: this.csrfToken(),
      });
    } catch (error) {
      if (this.reportId !== reportId) return;
      this.setStatus("ready");
      const reason = error instanceof api.ApiError ? error.fieldMessage : "";
      this.say(reason ? fill(t.verifyRefused, { reason }) : t.verifyOffline, "error");
      return;
    }
    this.onUpdated(updated);
    if (this.reportId !== reportId) return;
    this.root.dataset.result = action.action;
    this.root.dataset.status = updated.status;
    for (const node of this.root.querySelectorAll(".verify-step")) node.remove();
    const done = action.action === "verify_pass" ? t.verifyPassed : t.verifyReturned;
    const status = this.state.statuses[updated.status] || updated.status;
    this.setStatus("done");
    this.say(`${done} · ${fill(t.verifyStatusNow, { status })}`, "ok");
  }
}
