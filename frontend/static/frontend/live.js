// Data module: one live connection to /ws/live/ that never loses an event. No DOM, no Leaflet.
//
// The protocol is in docs/REALTIME.md. In short: frames are arrays of messages; sequenced
// messages carry a gap-free `seq` per stream; the connection remembers the last one applied and
// resumes from it after any break (reconnect with ?since=, or {"action":"resume"} on a gap or when
// a heartbeat shows the stream's head ahead of us). Ephemeral messages (unit.moved) have seq null.
//
// Events dispatched (EventTarget):
//   "status"   detail {state: "connecting" | "live" | "catching-up" | "down" | "denied", retryIn?}
//   "message"  detail {message}          every message to apply, in order, exactly once
//   "reload"   detail {head}             the gap is too old to replay: reload state over REST

const DENIED_CODES = new Set([4400, 4401, 4403]);

export class LiveConnection extends EventTarget {
  constructor({ path = "/ws/live/", stream = "county", heartbeatSeconds = 5 } = {}) {
    super();
    this.path = path;
    this.stream = stream;
    this.heartbeatMs = heartbeatSeconds * 1000;
    this.last = null; // the last seq applied; null until the server tells us where we start
    this.socket = null;
    this.attempt = 0;
    this.stopped = false;
    this.lastFrameAt = 0;
    this.watchdog = null;
    this.retryTimer = null;
    this.resumePending = false;
  }

  start() {
    this.stopped = false;
    this._connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    if (this.socket) this.socket.close(1000);
  }

  _status(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("status", { detail: { state, ...extra } }));
  }

  _url() {
    const url = new URL(this.path, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("stream", this.stream);
    if (this.last !== null) url.searchParams.set("since", String(this.last));
    return url.toString();
  }

  _connect() {
    this._status(this.attempt ? "catching-up" : "connecting");
    const socket = new WebSocket(this._url());
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.lastFrameAt = Date.now();
      clearInterval(this.watchdog);
      // No frame (not even a heartbeat) for three heartbeats: the link is dead without saying so.
      this.watchdog = setInterval(() => {
        if (Date.now() - this.lastFrameAt > 3 * this.heartbeatMs) socket.close(4000);
      }, this.heartbeatMs);
    });
    socket.addEventListener("message", (event) => {
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      for (const message of Array.isArray(frame) ? frame : [frame]) this._receive(message);
    });
    socket.addEventListener("close", (event) => {
      clearInterval(this.watchdog);
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (DENIED_CODES.has(event.code)) {
        this._status("denied", { code: event.code });
        return;
      }
      this.attempt += 1;
      // 0.5 s, 1 s, 2 s … capped at 15 s, with jitter so a wall of consoles does not reconnect at once.
      const delay = Math.min(15000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() * 0.5);
      this._status("down", { retryIn: Math.round(delay / 1000) });
      this.retryTimer = setTimeout(() => this._connect(), delay);
    });
  }

  _send(payload) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(payload));
  }

  _resume() {
    if (this.last === null || this.resumePending) return;
    this.resumePending = true;
    this._status("catching-up");
    this._send({ action: "resume", since: this.last });
  }

  _receive(message) {
    switch (message.type) {
      case "resumed":
        this.resumePending = false;
        if (this.last === null) this.last = message.data.head;
        this.attempt = 0;
        this._status("live");
        return;
      case "reload":
        this.resumePending = false;
        this.last = message.data.head;
        this.attempt = 0;
        this.dispatchEvent(new CustomEvent("reload", { detail: { head: message.data.head } }));
        this._status("live");
        return;
      case "heartbeat":
        // The server is up but PostgreSQL is not: the socket stays, new events wait for it.
        if (message.data.database === "unavailable") {
          if (this.state !== "degraded") this._status("degraded");
          return;
        }
        if (this.state === "degraded") this._status("live");
        if (this.last !== null && message.data.head > this.last) this._resume();
        return;
      case "error":
        console.warn("live: server refused a message", message.data);
        return;
      default:
        break;
    }
    if (message.seq === null || message.seq === undefined) {
      this.dispatchEvent(new CustomEvent("message", { detail: { message } }));
      return;
    }
    if (this.last !== null && message.seq <= this.last) return; // already applied
    if (this.last !== null && message.seq !== this.last + 1) {
      this._resume(); // a gap: ask for what is missing, apply nothing out of order
      return;
    }
    this.last = message.seq;
    if (this.state !== "live") this._status("live");
    this.dispatchEvent(new CustomEvent("message", { detail: { message } }));
  }
}
