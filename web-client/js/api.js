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
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {unknown} [body] sent as JSON
 * @returns {Promise<any>} the JSON answer, or null for an empty one
 */
async function request(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  const s = session();
  if (s) headers.authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  const text = await res.text();
  /** @type {any} */
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;
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
  throw err;
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
