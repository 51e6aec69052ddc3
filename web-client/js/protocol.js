// The signaling channel: owns the WebSocket to the server and speaks the JSON
// protocol of docs/protocol.md. It never touches the DOM and knows nothing of
// RTCPeerConnection; session.js drives it.

/** How often the client pings (docs/protocol.md: every 10 s; the server gives up after 30 s). */
export const PING_INTERVAL_MS = 10_000;

/**
 * A server that has said nothing (not even `pong`) for this long is taken for
 * gone, like the server does with a silent client.
 */
export const SILENCE_TIMEOUT_MS = 30_000;

/** Close codes with a meaning in the protocol. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  /** Ours: the server went silent (never sent on the wire). */
  SILENT: 4000,
  INTERNAL: 1011,
  AUTH: 4001,
  JOIN_TIMEOUT: 4008,
  REPLACED: 4409,
});

/**
 * @typedef {{track_id: string, kind: 'audio' | 'video'}} WireTrack
 * @typedef {{participant_id: string, identity: string, name: string, tracks: WireTrack[]}} WireParticipant
 * @typedef {{type: string, [field: string]: any}} Message
 */

/** @returns {string} the signaling URL on the same host as the page. */
export function defaultSignalingUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws`;
}

/**
 * One WebSocket connection to the server. A channel is used once: after it
 * closes, make a new one.
 *
 * Events:
 * - `open`: the socket is open (send `join` now).
 * - `message`: `detail` is the parsed server message ({@link Message}).
 * - `close`: `detail` is `{code, reason}`; fired once, also when the socket never opened.
 */
export class SignalingChannel extends EventTarget {
  /** @type {WebSocket | null} */
  #ws = null;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pingTimer;
  #closed = false;
  #lastHeard = 0;

  /** @param {string} [url] the WebSocket URL; defaults to `/ws` on this host. */
  constructor(url = defaultSignalingUrl()) {
    super();
    this.url = url;
  }

  /** Opens the socket. Progress is reported through events. */
  connect() {
    if (this.#ws) throw new Error('SignalingChannel.connect called twice');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      // A malformed URL throws synchronously; report it like any other failure.
      queueMicrotask(() => this.#finish(1006, String(err)));
      return;
    }
    this.#ws = ws;
    ws.addEventListener('open', () => {
      if (this.#closed) return;
      this.#lastHeard = Date.now();
      this.#pingTimer = setInterval(() => {
        if (Date.now() - this.#lastHeard > SILENCE_TIMEOUT_MS) {
          this.close(CloseCode.SILENT, 'server silent');
          return;
        }
        this.send({ type: 'ping' });
      }, PING_INTERVAL_MS);
      this.dispatchEvent(new Event('open'));
    });
    ws.addEventListener('message', (ev) => {
      if (this.#closed) return;
      this.#lastHeard = Date.now();
      if (typeof ev.data !== 'string') return; // the server only sends text frames
      /** @type {Message} */
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.warn('hoinghi: ignoring a message that is not JSON', ev.data);
        return;
      }
      if (!msg || typeof msg.type !== 'string') {
        console.warn('hoinghi: ignoring a message without a type', msg);
        return;
      }
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    });
    ws.addEventListener('close', (ev) => this.#finish(ev.code, ev.reason));
    // An 'error' event is always followed by 'close'; nothing to do here.
  }

  /** @returns {boolean} whether messages can be sent now. */
  get isOpen() {
    return !this.#closed && this.#ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Sends one message. Dropped silently if the socket is not open: the
   * session reconnects and renegotiates from scratch in that case.
   * @param {Message} msg
   * @returns {boolean} whether it was handed to the socket
   */
  send(msg) {
    if (!this.isOpen) return false;
    /** @type {WebSocket} */ (this.#ws).send(JSON.stringify(msg));
    return true;
  }

  /** @param {string} token the join JWT */
  join(token) {
    return this.send({ type: 'join', token });
  }

  /** Says `leave` (if open) and closes the socket. */
  leave() {
    this.send({ type: 'leave' });
    this.close();
  }

  /**
   * Closes the socket from our side. A `close` event is still fired, with
   * the given code.
   * @param {number} [code]
   * @param {string} [reason]
   */
  close(code = CloseCode.NORMAL, reason = 'client closed') {
    const ws = this.#ws;
    if (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING)) {
      try {
        ws.close(code, reason);
      } catch {
        ws.close();
      }
    }
    this.#finish(code, reason);
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  #finish(code, reason) {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.dispatchEvent(new CustomEvent('close', { detail: { code, reason } }));
  }
}
