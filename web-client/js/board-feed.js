// The operator board's live feed (docs/api.md, `GET /api/v1/board/events`):
// server-sent events read with fetch() and a stream reader, since EventSource
// cannot send the bearer token; reconnects by itself. No DOM here.

import { ApiError, stream } from './api.js';

/** Reconnect backoff: 1 s, 2 s, 4 s, … capped at 10 s. */
const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 10_000;
/** The server sends the board every second: this long without a byte means the stream is dead. */
export const SILENCE_MS = 10_000;

/** @typedef {{event: string, data: string}} SseEvent */

/**
 * Splits a `text/event-stream` into events (the HTML standard's rules for
 * `event`, `data` and comment lines; `id` and `retry` are not used here).
 * Feed it text as it arrives; chunks may cut lines anywhere.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  /** @type {string[]} */
  #data = [];

  /**
   * @param {string} chunk decoded text
   * @returns {SseEvent[]} the events completed by this chunk
   */
  push(chunk) {
    this.#buffer += chunk;
    /** @type {SseEvent[]} */
    const events = [];
    let end;
    while ((end = this.#lineEnd()) >= 0) {
      const line = this.#buffer.slice(0, end);
      const crlf = this.#buffer[end] === '\r' && this.#buffer[end + 1] === '\n';
      this.#buffer = this.#buffer.slice(end + (crlf ? 2 : 1));
      this.#line(line, events);
    }
    return events;
  }

  /** @returns {number} where the first complete line ends, or -1 */
  #lineEnd() {
    const m = /\r\n|\n|\r(?=.)/s.exec(this.#buffer);
    return m ? m.index : -1;
  }

  /**
   * @param {string} line
   * @param {SseEvent[]} events
   */
  #line(line, events) {
    if (line === '') {
      if (this.#data.length) events.push({ event: this.#event || 'message', data: this.#data.join('\n') });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment, e.g. `: keep-alive`
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
  }
}

/**
 * @typedef {'connecting' | 'live' | 'lost' | 'stopped'} FeedState
 *   `lost`: the stream dropped or could not be opened; retrying
 */

/**
 * The board, live. Events (`CustomEvent`s):
 * - `board` `{board}` — the whole board, about once a second;
 * - `state` `{state, delayMs?}` — see {@link FeedState};
 * - `refused` `{error}` — the server refused the session (401, 403): the feed stopped.
 */
export class BoardFeed extends EventTarget {
  /** @type {FeedState} */
  state = 'stopped';
  #path;
  /** @type {AbortController | null} */
  #abort = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #silenceTimer;
  #attempt = 0;

  /** @param {string} [path] under /api/v1 */
  constructor(path = '/board/events') {
    super();
    this.#path = path;
  }

  /** Connects, and keeps reconnecting until {@link stop}. */
  start() {
    if (this.state !== 'stopped') return;
    this.#attempt = 0;
    void this.#run();
  }

  /** Closes the stream and stops retrying. */
  stop() {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#silenceTimer);
    this.#abort?.abort();
    this.#abort = null;
    this.#setState('stopped');
  }

  async #run() {
    const abort = new AbortController();
    this.#abort = abort;
    if (this.state !== 'lost') this.#setState('connecting');
    try {
      const body = await stream(this.#path, abort.signal);
      await this.#read(body, abort);
      if (abort.signal.aborted && this.#abort !== abort) return; // stopped
      console.warn('hoinghi: the board stream ended; reconnecting');
    } catch (err) {
      if (this.#abort !== abort) return; // stopped meanwhile
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        this.stop();
        this.#emit('refused', { error: err });
        return;
      }
      console.warn('hoinghi: the board stream failed; reconnecting', err);
    }
    if (this.#abort !== abort) return;
    this.#retry();
  }

  /**
   * @param {ReadableStream<Uint8Array>} body
   * @param {AbortController} abort
   */
  async #read(body, abort) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    this.#armSilence(abort);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#armSilence(abort);
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) this.#onEvent(ev);
      }
    } finally {
      clearTimeout(this.#silenceTimer);
      reader.cancel().catch(() => {});
    }
  }

  /** @param {SseEvent} ev */
  #onEvent(ev) {
    if (ev.event !== 'board') return;
    let board;
    try {
      board = JSON.parse(ev.data);
    } catch {
      console.warn('hoinghi: a board event that is not JSON', ev.data.slice(0, 200));
      return;
    }
    this.#attempt = 0;
    if (this.state !== 'live') this.#setState('live');
    this.#emit('board', { board });
  }

  /** @param {AbortController} abort */
  #armSilence(abort) {
    clearTimeout(this.#silenceTimer);
    this.#silenceTimer = setTimeout(() => {
      console.warn(`hoinghi: nothing from the board stream for ${SILENCE_MS} ms; reconnecting`);
      abort.abort();
    }, SILENCE_MS);
  }

  #retry() {
    const delayMs = Math.min(BACKOFF_START_MS * 2 ** this.#attempt, BACKOFF_MAX_MS);
    this.#attempt += 1;
    this.#setState('lost', { delayMs });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#run(), delayMs);
  }

  /**
   * @param {FeedState} state
   * @param {object} [extra]
   */
  #setState(state, extra = {}) {
    this.state = state;
    this.#emit('state', { state, ...extra });
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
