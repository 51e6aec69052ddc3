// A room terminal's side of the REST API (docs/api.md): logs in with the
// device credential, renews the session token before it runs out, and asks
// for the next meeting and its join token. No DOM.

/** Log in again this long before the session token expires. */
const RENEW_BEFORE_S = 300;

/**
 * @typedef {{index: number, start: number, end: number, start_local: string,
 *   end_local: string, local_date: string, status: string}} Occurrence
 * @typedef {{id: string, title: string, agenda: string, host_endpoint_id: string,
 *   host_name?: string, roster: string[], mode: string}} Meeting
 * @typedef {{meeting: Meeting, occurrence: Occurrence, join_opens: number,
 *   join_closes: number, joinable: boolean}} NextMeeting
 * @typedef {{token: string, room: string, role: 'host' | 'participant', meeting_id: string,
 *   occurrence_start: number, occurrence_end: number, not_before: number,
 *   expires_at: number, join_url: string}} JoinGrant
 * @typedef {{id: string, name: string, location: string, unit_id: string}} Endpoint
 */

/** An answer other than the expected one; `status` 0 when the server was not reached. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code the server's stable code, or `network`
   * @param {string} message
   * @param {Record<string, unknown>} [body] the whole error answer
   */
  constructor(status, code, message, body = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** @returns {number} unix seconds now */
export const nowS = () => Date.now() / 1000;

export class DeviceClient {
  /** @type {string | null} */
  #token = null;
  #expiresAt = 0;
  /** @type {Promise<void> | null} a login in flight, shared by concurrent callers */
  #loggingIn = null;
  /** @type {Endpoint | null} the terminal, as the last login named it */
  endpoint = null;

  /**
   * @param {string} credential the device credential (`hnd_…`)
   * @param {string} [base] the API root
   */
  constructor(credential, base = '/api/v1') {
    this.credential = credential;
    this.base = base;
  }

  /** Logs in (again). A refused credential rejects with an ApiError of status 401. */
  login() {
    this.#loggingIn ??= (async () => {
      try {
        const res = await this.#fetch('POST', '/auth/device', { credential: this.credential }, null);
        const body = await res.json();
        this.#token = body.token;
        this.#expiresAt = body.expires_at;
        this.endpoint = body.endpoint ?? null;
      } finally {
        this.#loggingIn = null;
      }
    })();
    return this.#loggingIn;
  }

  /** @returns {Promise<NextMeeting | null>} the next occurrence, null when none */
  async nextMeeting() {
    const res = await this.#authed('GET', '/me/meetings/next');
    return res.status === 204 ? null : res.json();
  }

  /**
   * A join token for the meeting's current occurrence. Rejects with 409
   * `outside_window` before the window opens or after it closes, 403 when the
   * terminal is not on the roster.
   * @param {string} meetingId
   * @returns {Promise<JoinGrant>}
   */
  async joinToken(meetingId) {
    const res = await this.#authed('POST', `/me/meetings/${encodeURIComponent(meetingId)}/join-token`);
    return res.json();
  }

  /**
   * A request with the session token: logs in first if it is missing or
   * about to expire, and once more if the server no longer takes it.
   * @param {string} method
   * @param {string} path
   * @returns {Promise<Response>}
   */
  async #authed(method, path) {
    if (!this.#token || this.#expiresAt - nowS() < RENEW_BEFORE_S) await this.login();
    try {
      return await this.#fetch(method, path, undefined, this.#token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      this.#token = null;
      await this.login();
      return this.#fetch(method, path, undefined, this.#token);
    }
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} body
   * @param {string | null} token
   * @returns {Promise<Response>} a 2xx answer; anything else rejects with an ApiError
   */
  async #fetch(method, path, body, token) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, 'network', String(err));
    }
    if (res.ok) return res;
    /** @type {Record<string, unknown>} */
    let answer = {};
    try {
      answer = await res.json();
    } catch {
      // not JSON: a proxy's error page, say
    }
    throw new ApiError(res.status, String(answer.code ?? `http_${res.status}`), String(answer.message ?? ''), answer);
  }
}
