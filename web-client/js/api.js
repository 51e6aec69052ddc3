// The REST client of the staff pages: fetch with the bearer token kept in
// sessionStorage, JSON errors turned into ApiError. No DOM here; the page
// learns of an ended session through onUnauthorized().

const TOKEN_KEY = 'hoinghi.staff.session';

/**
 * @typedef {{token: string, expires_at: number, role: 'administrator' | 'scheduler' | 'operator', display_name: string}} StaffSession
 * @typedef {{id: string, parent_id?: string | null, name: string, level: string, children: UnitNode[]}} UnitNode
 * @typedef {{id: string, unit_id: string, name: string, location: string, bitrate_cap_kbps?: number | null, revoked: boolean}} Endpoint
 * @typedef {{unit_id: string, name: string, location: string, bitrate_cap_kbps: number | null}} EndpointInput
 * @typedef {{endpoint: Endpoint, credential: string}} EndpointWithCredential
 * @typedef {'directive' | 'controlled_discussion' | 'open'} MeetingMode
 * @typedef {'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'} Weekday
 * @typedef {{freq: 'daily' | 'weekly', interval?: number, weekdays?: Weekday[], until: string}} Recurrence
 * @typedef {{title: string, agenda: string, start: number, end: number, host_endpoint_id: string,
 *   roster: string[], mode: MeetingMode, recurrence: Recurrence | null, revision?: number}} MeetingInput
 * @typedef {{index: number, start: number, end: number, start_local: string, end_local: string,
 *   local_date: string, status: 'scheduled' | 'live' | 'ended' | 'cancelled'}} Occurrence
 * @typedef {MeetingInput & {id: string, revision: number, cancelled: boolean, cancelled_occurrences: string[],
 *   start_local: string, end_local: string, status: string}} Meeting
 * @typedef {{meeting_id: string, title: string, mode: MeetingMode, host_endpoint_id: string,
 *   roster: string[], occurrence: Occurrence}} ScheduledOccurrence
 * @typedef {{meeting_id: string, title: string, endpoint_id: string, occurrence_start: number,
 *   occurrence_start_local: string, requested_start: number}} BookingConflict
 */

/** An error answer of the API (or a network failure, with `status` 0 and code `network`). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {string | undefined} [field]
   * @param {BookingConflict[]} [conflicts]
   */
  constructor(status, code, message, field, conflicts = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.conflicts = conflicts;
  }
}

/** @type {Set<() => void>} */
const unauthorizedListeners = new Set();

/**
 * @param {() => void} fn called when the server refuses the session (401)
 * @returns {() => void} unsubscribes
 */
export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** @returns {StaffSession | null} the stored session, if it has not expired */
export function session() {
  try {
    const raw = sessionStorage.getItem(TOKEN_KEY);
    if (!raw) return null;
    const s = /** @type {StaffSession} */ (JSON.parse(raw));
    return s.expires_at * 1000 > Date.now() ? s : null;
  } catch {
    return null;
  }
}

/** Forgets the session (logging out). */
export function clearSession() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage disabled: nothing was kept
  }
}

/**
 * Sends a request with the stored session's bearer token.
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {string} accept the `Accept` header
 * @param {{body?: unknown, signal?: AbortSignal}} [options] `body` is sent as JSON
 * @returns {Promise<Response>} any status; a network failure is an ApiError `network`
 */
async function send(method, path, accept, { body, signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept };
  const s = session();
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
}

/**
 * The ApiError of a refused request (its JSON `{code, message, field}` body if
 * it has one). A 401 ends the session and tells the onUnauthorized listeners.
 * @param {Response} res not ok
 * @param {string} path
 * @returns {Promise<ApiError>}
 */
async function refusal(res, path) {
  /** @type {any} */
  let data = null;
  try {
    data = JSON.parse(await res.text());
  } catch {
    data = null;
  }
  const err = new ApiError(
    res.status,
    data?.code ?? 'http_' + res.status,
    data?.message ?? res.statusText,
    data?.field ?? undefined,
    Array.isArray(data?.conflicts) ? data.conflicts : [],
  );
  // A failed login is also a 401, but it is not the end of a session.
  if (res.status === 401 && path !== '/auth/login') {
    clearSession();
    for (const fn of unauthorizedListeners) fn();
  }
  return err;
}

/**
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>} the JSON answer, or null for an empty one
 */
async function request(method, path, body) {
  const res = await send(method, path, 'application/json', { body });
  if (!res.ok) throw await refusal(res, path);
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Opens a long-lived GET (a `text/event-stream`) with the session's token,
 * which EventSource cannot send.
 * @param {string} path under /api/v1
 * @param {AbortSignal} signal ends the stream
 * @returns {Promise<ReadableStream<Uint8Array>>} the body, once the server accepted
 */
export async function stream(path, signal) {
  const res = await send('GET', path, 'text/event-stream', { signal });
  if (!res.ok) throw await refusal(res, path);
  if (!res.body) throw new ApiError(res.status, 'no_body', 'the server sent no stream');
  return res.body;
}

/**
 * Downloads a file with the session's token.
 * @param {string} path under /api/v1
 * @param {string} fallbackName used when the answer names no file
 * @returns {Promise<{blob: Blob, filename: string}>}
 */
export async function download(path, fallbackName) {
  const res = await send('GET', path, '*/*');
  if (!res.ok) throw await refusal(res, path);
  return { blob: await res.blob(), filename: filenameOf(res.headers.get('content-disposition')) ?? fallbackName };
}

/**
 * @param {string | null} disposition a Content-Disposition header
 * @returns {string | null} its filename (RFC 6266: `filename*` first)
 */
export function filenameOf(disposition) {
  if (!disposition) return null;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      // malformed: try the plain form
    }
  }
  const plain = /filename\s*=\s*(?:"([^"]*)"|([^;]+))/i.exec(disposition);
  return plain ? (plain[1] ?? plain[2]).trim() : null;
}

/**
 * Logs a staff member in and keeps the session for this browser tab.
 * @param {string} username
 * @param {string} password
 * @returns {Promise<StaffSession>}
 */
export async function login(username, password) {
  const s = /** @type {StaffSession} */ (await request('POST', '/auth/login', { username, password }));
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(s));
  return s;
}

/** @returns {Promise<UnitNode[]>} */
export const unitTree = () => request('GET', '/units/tree');
/** @returns {Promise<Endpoint[]>} */
export const endpoints = () => request('GET', '/endpoints');
/** @param {EndpointInput} input @returns {Promise<EndpointWithCredential>} */
export const createEndpoint = (input) => request('POST', '/endpoints', input);
/** @param {string} id @param {Partial<EndpointInput>} changes @returns {Promise<Endpoint>} */
export const updateEndpoint = (id, changes) => request('PATCH', `/endpoints/${encodeURIComponent(id)}`, changes);
/** @param {string} id @returns {Promise<EndpointWithCredential>} */
export const rotateCredential = (id) => request('POST', `/endpoints/${encodeURIComponent(id)}/credential`);

/**
 * @param {number} from unix seconds
 * @param {number} to unix seconds
 * @returns {Promise<ScheduledOccurrence[]>}
 */
export const occurrences = (from, to) => request('GET', `/meetings?from=${from}&to=${to}`);
/** @param {string} id @returns {Promise<Meeting>} */
export const meeting = (id) => request('GET', `/meetings/${encodeURIComponent(id)}`);
/** @param {MeetingInput} input @returns {Promise<Meeting>} */
export const createMeeting = (input) => request('POST', '/meetings', input);
/** @param {string} id @param {MeetingInput} input @returns {Promise<Meeting>} */
export const replaceMeeting = (id, input) => request('PUT', `/meetings/${encodeURIComponent(id)}`, input);
/** @param {string} id @returns {Promise<Meeting>} */
export const cancelMeeting = (id) => request('POST', `/meetings/${encodeURIComponent(id)}/cancel`);
/** @param {string} id @param {string} date local `YYYY-MM-DD` @returns {Promise<Meeting>} */
export const cancelOccurrence = (id, date) =>
  request('POST', `/meetings/${encodeURIComponent(id)}/cancellations`, { date });
