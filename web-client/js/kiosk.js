// The room terminal's autopilot: follows its next meeting and says when to
// join and when to leave. Talks to the server through DeviceClient; no DOM
// (kiosk-view.js shows what it decides, kiosk-main.js runs the call).

import { ApiError, nowS } from './device.js';

/**
 * @typedef {import('./device.js').DeviceClient} DeviceClient
 * @typedef {import('./device.js').NextMeeting} NextMeeting
 * @typedef {import('./device.js').JoinGrant} JoinGrant
 * @typedef {'starting' | 'idle' | 'upcoming' | 'joining' | 'waiting_chair' | 'live'} Phase
 *   `idle`: no meeting ahead; `upcoming`: one ahead, its window not open yet;
 *   `joining`: open, asking for a join token; `waiting_chair`: in the call before
 *   the start; `live`: in the call after the start
 * @typedef {{phase: Phase, next: NextMeeting | null, grant: JoinGrant | null,
 *   problem: string | null}} KioskUpdate `problem`: the code of the last failure, if any
 */

/** Ask for the next meeting this often, besides the moments it changes. */
const POLL_MS = 15_000;
/** After a refused join token or a failed call, try again this much later. */
const RETRY_S = 10;

/**
 * What the terminal is doing, from the next meeting and the join token it holds.
 * @param {NextMeeting | null} next
 * @param {JoinGrant | null} grant
 * @param {number} now unix seconds
 * @returns {Phase}
 */
export function phaseOf(next, grant, now) {
  if (grant) return now < grant.occurrence_start ? 'waiting_chair' : 'live';
  if (!next) return 'idle';
  return next.join_opens <= now && now < next.join_closes ? 'joining' : 'upcoming';
}

/**
 * When the call with `grant` ends: the end of the join window (the occurrence's
 * end plus the grace period) or the token's expiry, whichever comes first.
 * @param {JoinGrant} grant
 * @param {NextMeeting | null} next the next meeting when the grant was issued
 * @returns {number} unix seconds
 */
export function leaveAt(grant, next) {
  const sameOccurrence = next && next.meeting.id === grant.meeting_id && next.occurrence.start === grant.occurrence_start;
  return Math.min(grant.expires_at, sameOccurrence ? next.join_closes : Infinity);
}

/**
 * The delay until the next look at the schedule: the poll period, or sooner
 * when a moment that changes the phase comes first.
 * @param {number[]} moments unix seconds
 * @param {number} now unix seconds
 * @returns {number} milliseconds
 */
export function delayUntil(moments, now) {
  let ms = POLL_MS;
  for (const at of moments) {
    const until = (at - now) * 1000 + 250; // a little after, so the server agrees
    if (until > 0) ms = Math.min(ms, until);
  }
  return Math.max(ms, 500);
}

/**
 * Events (`CustomEvent`s, payload in `detail`):
 * - `update` {@link KioskUpdate} — after every look at the schedule.
 * - `join` `{grant}` — join the call now with `grant.token`.
 * - `leave` `{reason}` — leave the call (`ended`, `cancelled`, `stopped`).
 * - `unauthorized` — the server refuses the credential: it was rotated, revoked or mistyped.
 */
export class Kiosk extends EventTarget {
  /** @type {NextMeeting | null} */
  next = null;
  /** @type {JoinGrant | null} the join token of the call we are in */
  grant = null;
  #leaveAt = Infinity;
  /** @type {string | null} */
  #problem = null;
  #retryAt = 0;
  #running = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;
  /** @type {Promise<void>} looks at the schedule one at a time */
  #queue = Promise.resolve();

  /**
   * @param {DeviceClient} client
   * @param {{now?: () => number}} [options] `now` in unix seconds, for tests
   */
  constructor(client, { now = nowS } = {}) {
    super();
    this.client = client;
    this.now = now;
  }

  start() {
    this.#running = true;
    this.refresh();
  }

  /** Stops looking and leaves the call, if any. */
  stop() {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#leave('stopped');
  }

  /** Looks at the schedule now (and then on the usual timer). */
  refresh() {
    clearTimeout(this.#timer);
    this.#queue = this.#queue.then(() => this.#tick());
  }

  /** The call failed for good (e.g. its token was refused): ask for a new token soon. */
  callFailed() {
    this.grant = null;
    this.#leaveAt = Infinity;
    this.#retryAt = this.now() + RETRY_S;
    this.refresh();
  }

  async #tick() {
    if (!this.#running) return;
    let fresh = false;
    try {
      this.next = await this.client.nextMeeting();
      this.#problem = null;
      fresh = true;
    } catch (err) {
      if (this.#refused(err)) return;
      this.#problem = err instanceof ApiError ? err.code : 'network';
    }
    let now = this.now();
    if (this.grant) {
      const g = this.grant;
      const offered = this.next?.meeting.id === g.meeting_id && this.next.occurrence.start === g.occurrence_start;
      if (now >= this.#leaveAt) this.#leave('ended');
      // Called off or moved: the server no longer offers this occurrence.
      else if (fresh && !offered) this.#leave('cancelled');
    }
    if (!this.grant && this.next && phaseOf(this.next, null, now) === 'joining' && now >= this.#retryAt) {
      try {
        const grant = await this.client.joinToken(this.next.meeting.id);
        this.grant = grant;
        this.#leaveAt = leaveAt(grant, this.next);
        this.#emit('join', { grant });
      } catch (err) {
        if (this.#refused(err)) return;
        this.#problem = err instanceof ApiError ? err.code : 'network';
        this.#retryAt = this.now() + RETRY_S;
      }
      now = this.now();
    }
    if (!this.#running) return;
    /** @type {KioskUpdate} */
    const update = { phase: phaseOf(this.next, this.grant, now), next: this.next, grant: this.grant, problem: this.#problem };
    this.#emit('update', update);
    const n = this.next;
    const moments = [this.#leaveAt, this.#retryAt];
    if (n) moments.push(n.join_opens, n.occurrence.start, n.occurrence.end, n.join_closes);
    if (this.grant) moments.push(this.grant.occurrence_start);
    this.#timer = setTimeout(() => this.refresh(), delayUntil(moments, now));
  }

  /**
   * Stops for good if the server refuses the credential itself.
   * @param {unknown} err
   * @returns {boolean} whether it did
   */
  #refused(err) {
    if (!(err instanceof ApiError) || err.status !== 401) return false;
    this.stop();
    this.#emit('unauthorized', {});
    return true;
  }

  /** @param {string} reason */
  #leave(reason) {
    if (!this.grant) return;
    this.grant = null;
    this.#leaveAt = Infinity;
    this.#emit('leave', { reason });
  }

  /**
   * @param {string} type
   * @param {unknown} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
