// UI module of the officer's page: one case on a full-screen sheet — where it is (navigate in the
// phone's map app, a small map with me and the case), what it is (description, photos, the reasons
// it came to my team), what happened (the record, case.events) and the steps I may take now
// (case.allowed_actions from the server: accept, start with my location, handle with after-photos
// from the camera, request an extension, escalate). A refused step shows the API's field message;
// a step that did not reach the server says so and offers to send it again (the API takes a
// repeated step as done once, so a retry after a lost answer is safe).
/* global L */

import * as api from "./api.js";
import { el, fill, timeFormatter } from "./dom.js";
import { clock, distanceMetres, distanceText, navigationLinks } from "./fieldmodel.js";

// Steps sent with one tap: nothing to type. `start` takes the phone's location on the way.
const ONE_TAP = new Set(["accept", "start", "report_in"]);
// The steps an officer takes forward, drawn as the primary button.
const PRIMARY = new Set(["accept", "start", "handle", "report_in"]);

export function caseSheet(sheet, { state, t, getFix, locate, onChanged, onClose }) {
  const title = sheet.querySelector("#sheet-title");
  const body = sheet.querySelector("#sheet-body");
  const at = timeFormatter(document.documentElement.lang || "zh-hans", state.timeZone, { seconds: false });
  let current = null; // the case shown (detail JSON)
  let controller = null;
  let blocks = null; // the sheet's parts, kept across live refreshes of the same case
  let stepsKey = null;
  let map = null;
  let caseMarker = null;
  let meMarker = null;
  let cells = null;
  let framedWithMe = false;
  let cellsController = null;

  // --- parts ------------------------------------------------------------------------------------
  function head(report) {
    const c = clock(report, t);
    return el("div", { className: "sheet-head" }, [
      el("p", { className: "sheet-status-line" }, [
        el("span", { className: `status-badge status-${report.status}`, text: t.statusLabels[report.status] || report.status }),
        report.priority ? el("span", { className: "badge-urgent", text: t.urgent }) : null,
        el("span", {
          className: `case-clock${c.overdue ? " is-overdue" : c.soon ? " is-soon" : ""}`,
          text: c.text,
          attrs: { "data-overdue": String(c.overdue) },
        }),
      ]),
      el("h2", { className: "sheet-matter", text: report.matter ? report.matter.name : t.noMatter }),
      el("p", { className: "sheet-place", text: placeText(report) }),
    ]);
  }

  function placeText(report) {
    const area = [report.township?.name, report.village?.name, report.cell?.name].filter(Boolean).join(" · ");
    return [report.address, area].filter(Boolean).join(" ｜ ");
  }

  function navBlock(report) {
    const links = navigationLinks(report.point.coordinates, report.matter?.name || report.number);
    const distance = el("span", { className: "nav-distance", attrs: { id: "sheet-distance" } });
    updateDistance(distance, report);
    return el("div", { className: "sheet-nav" }, [
      el("a", {
        className: "nav-button nav-amap",
        text: t.navigate,
        attrs: { href: links.amap, target: "_blank", rel: "noopener", "data-nav": "amap", "aria-label": t.navigateAmap },
      }),
      el("a", { className: "nav-button nav-geo", text: t.navigateGeo, attrs: { href: links.geo, "data-nav": "geo" } }),
      distance,
    ]);
  }

  function updateDistance(node, report) {
    const fix = getFix();
    const metres = fix ? distanceMetres([fix.lon, fix.lat], report.point.coordinates) : null;
    node.textContent = `${t.distance} ${distanceText(metres, t)}`;
  }

  function facts(report) {
    const c = report.case || {};
    const rows = [
      [t.receivedAt, at(report.received_at)],
      [t.dueAt, report.due_at ? at(report.due_at) : t.noDeadline],
    ];
    if (report.description) rows.unshift([t.description, report.description]);
    if (c.assigned_unit) rows.push([t.unit, c.assigned_unit.name]);
    if (c.handler) rows.push([t.handler, c.handler.name]);
    if (c.extension_request) rows.push([t.status, fill(t.extensionPending, { n: c.extension_request.days })]);
    const who = report.reporter?.name || report.reporter_name;
    if (who) rows.push([t.reporter, [who, report.reporter_phone].filter(Boolean).join(" ")]);
    return el(
      "dl",
      { className: "sheet-facts" },
      rows.flatMap(([label, value]) => [el("dt", { text: label }), el("dd", { text: value })]),
    );
  }

  function thumbnails(photos, label) {
    return el(
      "ul",
      { className: "sheet-photos" },
      photos.map((photo) =>
        el("li", {}, [
          el("a", { attrs: { href: photo.image, target: "_blank", rel: "noopener" } }, [
            el("img", { attrs: { src: photo.thumbnail || photo.image, alt: label, loading: "lazy" } }),
          ]),
        ]),
      ),
    );
  }

  // The photos taken when it was reported; the after-photos show with their step in the record.
  function photosBlock(report) {
    const later = new Set((report.case?.events || []).flatMap((event) => (event.photos || []).map((photo) => photo.id)));
    const intake = (report.photos || []).filter((photo) => !later.has(photo.id));
    return el("section", { className: "sheet-section" }, [
      el("h3", { text: t.photos }),
      intake.length ? thumbnails(intake, t.photos) : el("p", { className: "muted", text: t.noPhotos }),
    ]);
  }

  function reasonsBlock(report) {
    return el("section", { className: "sheet-section" }, [
      el("h3", { text: t.reasons }),
      el(
        "ol",
        { className: "sheet-reasons" },
        (report.reasons || []).map((reason) => el("li", { text: reason.text, attrs: { "data-reason": reason.code || "" } })),
      ),
    ]);
  }

  function timelineBlock(report) {
    const events = report.case?.events || [];
    const items = [
      el("li", { attrs: { "data-event": "received" } }, [
        el("time", { text: at(report.received_at) }),
        el("span", { text: t.events.received }),
      ]),
      ...events.map((event) =>
        el("li", { attrs: { "data-event": event.action, "data-seq": String(event.seq) } }, [
          el("time", { text: at(event.at) }),
          el("span", { text: [event.action_display, event.actor_name].filter(Boolean).join(" · ") }),
          event.note ? el("small", { text: event.note }) : null,
          event.photos?.length ? thumbnails(event.photos, event.action_display) : null,
        ]),
      ),
    ];
    return el("section", { className: "sheet-section" }, [
      el("h3", { text: t.timeline }),
      el("ol", { className: "sheet-timeline" }, items.reverse()),
    ]);
  }

  // --- steps ------------------------------------------------------------------------------------
  function say(message, stateName, text, retry) {
    message.dataset.state = stateName;
    message.replaceChildren(el("span", { text }));
    if (retry) {
      const button = el("button", { className: "button-secondary step-retry", text: t.retry, attrs: { type: "button" } });
      button.addEventListener("click", retry);
      message.append(button);
    }
  }

  function setBusy(busy) {
    for (const button of blocks.steps.querySelectorAll("button")) button.disabled = busy;
  }

  // Sends one step; a refusal shows the API's message, a lost request offers to send it again.
  async function post(report, action, fields, files, message, extra = "") {
    setBusy(true);
    say(message, "sending", t.sending);
    try {
      const updated = await api.caseStep(state.api, report.id, {
        fields: { action: action.action, ...fields },
        files,
        csrfToken: state.csrfToken,
      });
      say(message, "done", [fill(t.stepDone, { action: action.label }), extra].filter(Boolean).join(" "));
      show(updated);
      onChanged?.(updated, action.action);
    } catch (error) {
      setBusy(false);
      if (error instanceof api.ApiError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) {
        const detail = error.fieldMessage || `HTTP ${error.status}`;
        say(message, "refused", fill(t.stepRefused, { action: action.label, message: detail }));
        return;
      }
      say(message, "failed", t.stepNetwork, () => post(report, action, fields, files, message, extra));
    }
  }

  async function oneTap(report, action, message) {
    const fields = {};
    let extra = "";
    if (action.action === "start" || action.needs_location) {
      setBusy(true);
      say(message, "sending", t.gettingLocation);
      const where = await locate();
      if (where) Object.assign(fields, { lon: where.lon.toFixed(6), lat: where.lat.toFixed(6) });
      else extra = t.noLocationSent;
    }
    await post(report, action, fields, [], message, extra);
  }

  function photoPicker(action) {
    const files = [];
    const input = el("input", {
      className: "visually-hidden",
      attrs: { type: "file", name: "photos", accept: "image/*", capture: "environment", multiple: "", id: `photos-${action.action}` },
    });
    const pick = el("label", { className: "button-secondary photo-pick", text: t.takePhoto, attrs: { for: input.id } });
    const previews = el("ul", { className: "photo-previews" });
    const hint = el("p", { className: "muted photo-hint", text: fill(t.photosNeeded, { n: state.minPhotos }) });
    const urls = new Map();
    function render() {
      previews.replaceChildren(
        ...files.map((file, index) => {
          if (!urls.has(file)) urls.set(file, URL.createObjectURL(file));
          const remove = el("button", { className: "photo-remove", text: "×", attrs: { type: "button", "aria-label": t.removePhoto } });
          remove.addEventListener("click", () => {
            URL.revokeObjectURL(urls.get(file));
            urls.delete(file);
            files.splice(index, 1);
            render();
          });
          return el("li", { className: "photo-preview" }, [el("img", { attrs: { src: urls.get(file), alt: file.name } }), remove]);
        }),
      );
      previews.dataset.count = String(files.length);
    }
    input.addEventListener("change", () => {
      for (const file of input.files) if (files.length < state.maxPhotos) files.push(file);
      input.value = "";
      render();
    });
    render();
    return { files, nodes: [el("span", { className: "field-label", text: t.afterPhotos }), pick, input, previews, hint] };
  }

  function stepForm(report, action, message) {
    const inputs = [];
    let photos = null;
    if (action.action === "request_extension") {
      inputs.push(
        el("label", { className: "field-label", text: t.extensionDays, attrs: { for: "step-days" } }),
        el("input", {
          className: "input",
          attrs: { id: "step-days", name: "days", type: "number", inputmode: "numeric", min: "1", max: String(state.extensionMaxDays), value: "5" },
        }),
      );
    }
    if (action.action === "escalate") {
      inputs.push(
        el("label", { className: "field-label", text: t.countyTeam, attrs: { for: "step-team" } }),
        el("select", { className: "input", attrs: { id: "step-team", name: "team" } }, [
          el("option", { text: t.teamByMatter, attrs: { value: "" } }),
          ...state.countyTeams.map((team) => el("option", { text: team.name, attrs: { value: team.code } })),
        ]),
      );
    }
    if (action.needs_photos) {
      photos = photoPicker(action);
      inputs.push(...photos.nodes);
    }
    const placeholder =
      action.action === "handle"
        ? t.handleNote
        : action.action === "request_extension"
          ? t.extensionReason
          : action.action === "escalate"
            ? t.escalateNote
            : action.needs_note
              ? t.noteRequired
              : t.noteOptional;
    const note = el("textarea", { className: "input", attrs: { name: "note", rows: "3", maxlength: "1000", placeholder, "aria-label": t.note } });
    const submit = el("button", {
      className: "button-primary step-confirm",
      text: fill(t.confirmStep, { action: action.label }),
      attrs: { type: "submit" },
    });
    const cancel = el("button", { className: "button-secondary", text: t.cancel, attrs: { type: "button" } });
    const form = el("form", { className: "step-form", attrs: { "data-step": action.action, novalidate: "" } }, [
      ...inputs,
      note,
      el("div", { className: "step-form-buttons" }, [submit, cancel]),
    ]);
    cancel.addEventListener("click", () => {
      form.remove();
      for (const other of blocks.steps.querySelectorAll(".step-button")) other.classList.remove("is-active");
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (action.needs_note && !note.value.trim()) {
        say(message, "refused", t.needNote);
        note.focus();
        return;
      }
      if (photos && photos.files.length < state.minPhotos) {
        say(message, "refused", fill(t.photosNeeded, { n: state.minPhotos }));
        return;
      }
      const fields = {};
      for (const input of form.elements) {
        if (!input.name || input.type === "file" || input.value === "") continue;
        fields[input.name] = input.value;
      }
      post(report, action, fields, photos ? [...photos.files] : [], message);
    });
    return form;
  }

  function stepsBlock(report) {
    const actions = report.case?.allowed_actions || [];
    const slot = el("div", { className: "step-slot" });
    if (!actions.length) return [el("p", { className: "muted", text: t.noSteps }), slot];
    const message = blocks.message;
    const buttons = actions.map((action) => {
      const primary = PRIMARY.has(action.action);
      const button = el("button", {
        className: `step-button${primary ? " is-primary" : ""}`,
        text: action.label,
        attrs: { type: "button", "data-action": action.action },
      });
      button.addEventListener("click", () => {
        if (ONE_TAP.has(action.action)) {
          slot.replaceChildren();
          oneTap(report, action, message);
          return;
        }
        for (const other of blocks.steps.querySelectorAll(".step-button")) other.classList.toggle("is-active", other === button);
        slot.replaceChildren(stepForm(report, action, message));
        slot.querySelector("select, input:not([type=file]), textarea")?.focus();
      });
      return button;
    });
    return [el("div", { className: "step-buttons" }, buttons), slot];
  }

  // --- map --------------------------------------------------------------------------------------
  function buildMap(box, report) {
    if (typeof L === "undefined") return;
    const [lon, lat] = report.point.coordinates;
    map = L.map(box, { center: [lat, lon], zoom: 16, minZoom: state.map.minZoom, maxZoom: state.map.maxZoom });
    map.attributionControl.setPrefix("Leaflet");
    if (state.tiles.url) {
      L.tileLayer(state.tiles.url, { attribution: state.tiles.attribution, maxZoom: state.map.maxZoom }).addTo(map);
      box.classList.add("has-basemap");
    }
    const cellCode = report.cell?.code;
    cells = L.geoJSON(null, {
      interactive: false,
      style: (feature) =>
        feature.properties.code === cellCode
          ? { color: "#c2410c", weight: 2.5, fillColor: "#f97316", fillOpacity: 0.12 }
          : { color: "#1d4e89", weight: 1, fillColor: "#1d4e89", fillOpacity: 0.03 },
    }).addTo(map);
    caseMarker = L.circleMarker([lat, lon], { radius: 10, color: "#7f1d1d", weight: 3, fillColor: "#ef4444", fillOpacity: 1 })
      .bindTooltip(t.mapCase, { permanent: true, direction: "top", offset: [0, -8] })
      .addTo(map);
    meMarker = L.circleMarker([lat, lon], { radius: 8, color: "#1e3a8a", weight: 3, fillColor: "#3b82f6", fillOpacity: 1 }).bindTooltip(
      t.mapMe,
      { permanent: true, direction: "bottom", offset: [0, 8] },
    );
    framedWithMe = false;
    placeMe();
    box.dataset.state = "ready";
    // The cells around what is shown, once framed and after every pan or zoom.
    map.on("moveend", () => loadCells(box));
    loadCells(box);
    document.dispatchEvent(new CustomEvent("gridops:map-ready", { detail: { map } }));
  }

  async function loadCells(box) {
    if (cellsController) cellsController.abort();
    const controller = new AbortController();
    cellsController = controller;
    const mine = map;
    const b = map.getBounds().pad(0.2);
    try {
      const collection = await api.cellsInBbox(state.api, {
        bounds: { west: b.getWest(), south: b.getSouth(), east: b.getEast(), north: b.getNorth() },
        zoom: Math.max(map.getZoom(), state.map.cellMinZoom),
        signal: controller.signal,
      });
      if (map !== mine || controller.signal.aborted) return;
      cells.clearLayers();
      cells.addData(collection);
      box.dataset.cells = String(cells.getLayers().length);
    } catch (error) {
      if (error.name !== "AbortError") console.warn("cells failed", error);
    }
  }

  // Me on the map once the phone knows where it is; framed with the case when both fit a town.
  function placeMe() {
    if (!map || !current) return;
    const fix = getFix();
    const box = map.getContainer();
    if (!fix) {
      box.dataset.me = "off";
      return;
    }
    meMarker.setLatLng([fix.lat, fix.lon]);
    if (!map.hasLayer(meMarker)) meMarker.addTo(map);
    box.dataset.me = "on";
    const metres = distanceMetres([fix.lon, fix.lat], current.point.coordinates);
    if (!framedWithMe && metres !== null && metres < 30_000) {
      framedWithMe = true;
      map.fitBounds(L.latLngBounds([caseMarker.getLatLng(), meMarker.getLatLng()]).pad(0.3), { maxZoom: 17, animate: false });
    }
  }

  function dropMap() {
    if (map) map.remove();
    if (cellsController) cellsController.abort();
    map = caseMarker = meMarker = cells = null;
  }

  // --- the sheet ----------------------------------------------------------------------------------
  function build(report) {
    dropMap();
    const mapBox = el("div", { className: "sheet-map", attrs: { id: "sheet-map", "data-state": "loading" } });
    blocks = {
      id: report.id,
      head: el("div"),
      nav: el("div"),
      steps: el("section", { className: "sheet-section sheet-steps", attrs: { "aria-label": t.steps } }),
      message: el("p", { className: "step-message", attrs: { role: "status", "data-state": "idle" } }),
      mapBox,
      facts: el("div"),
      photos: el("div"),
      reasons: el("div"),
      timeline: el("div"),
    };
    body.replaceChildren(
      blocks.head,
      blocks.nav,
      blocks.steps,
      blocks.message,
      blocks.mapBox,
      blocks.facts,
      blocks.photos,
      blocks.reasons,
      blocks.timeline,
    );
    stepsKey = null;
  }

  function show(report) {
    const fresh = !blocks || blocks.id !== report.id || !body.contains(blocks.head);
    if (fresh) build(report);
    current = report;
    sheet.dataset.reportId = String(report.id);
    sheet.dataset.status = report.status;
    title.textContent = report.number;
    blocks.head.replaceChildren(head(report));
    blocks.nav.replaceChildren(navBlock(report));
    // The steps stay the same elements (a note being typed, photos picked) unless what they act
    // on changed: the state, the record or the steps offered.
    const key = JSON.stringify([report.status, report.case?.events?.length, (report.case?.allowed_actions || []).map((a) => a.action)]);
    if (key !== stepsKey) {
      stepsKey = key;
      blocks.steps.replaceChildren(el("h3", { text: t.steps }), ...stepsBlock(report));
    }
    blocks.facts.replaceChildren(facts(report));
    blocks.photos.replaceChildren(photosBlock(report));
    blocks.reasons.replaceChildren(reasonsBlock(report));
    blocks.timeline.replaceChildren(timelineBlock(report));
    if (fresh) buildMap(blocks.mapBox, report);
  }

  async function open(id) {
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    const again = current?.id === id && !sheet.hidden;
    sheet.hidden = false;
    document.body.classList.add("sheet-open");
    sheet.dataset.reportId = String(id);
    if (!again) {
      dropMap();
      blocks = null;
      current = null;
      sheet.dataset.status = "loading";
      title.textContent = "";
      body.replaceChildren(el("p", { className: "muted sheet-loading", text: t.loading }));
      sheet.scrollTop = 0;
    }
    try {
      const report = await api.report(state.api, id, { signal: mine.signal });
      if (!mine.signal.aborted) show(report);
    } catch (error) {
      if (error.name === "AbortError") return;
      if (again) return; // keep what is shown; the next event or a reopen will try again
      sheet.dataset.status = "error";
      const retry = el("button", { className: "button-secondary", text: t.retry, attrs: { type: "button" } });
      retry.addEventListener("click", () => open(id));
      body.replaceChildren(el("p", { className: "form-error", text: t.loadDetailFailed }), retry);
    }
  }

  function close() {
    if (controller) controller.abort();
    dropMap();
    blocks = null;
    current = null;
    sheet.hidden = true;
    document.body.classList.remove("sheet-open");
    delete sheet.dataset.reportId;
    onClose?.();
  }

  return {
    open,
    close,
    isOpen: () => !sheet.hidden,
    currentId: () => (sheet.hidden ? null : Number(sheet.dataset.reportId)),
    // A live event about the case on show: read it again (its record and steps may have changed).
    refreshIf(id) {
      if (!sheet.hidden && Number(sheet.dataset.reportId) === id) open(id);
    },
    // The phone moved: the distance and my marker follow.
    setFix() {
      if (!current || !blocks) return;
      const node = blocks.nav.querySelector("#sheet-distance");
      if (node) updateDistance(node, current);
      placeMe();
    },
    tick() {
      if (current && blocks) blocks.head.replaceChildren(head(current));
    },
  };
}
