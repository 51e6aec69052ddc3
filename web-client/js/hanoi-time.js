// Wall-clock time in Hà Nội (Asia/Ho_Chi_Minh) for the staff pages: the API
// speaks unix seconds, people speak local dates and times. Việt Nam keeps
// UTC+7 all year (no daylight saving since 1975), so a fixed offset is exact.
// No DOM here.

const OFFSET_S = 7 * 3600;
const DAY_S = 86400;

/** @param {number} n @returns {string} */
const pad = (n) => String(n).padStart(2, '0');

/**
 * @param {string} date `YYYY-MM-DD`, Hà Nội calendar
 * @param {string} time `HH:MM`, Hà Nội clock
 * @returns {number} unix seconds, or NaN if either is malformed
 */
export function toUnix(date, time) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const t = /^(\d{2}):(\d{2})$/.exec(time);
  if (!d || !t) return NaN;
  return Date.UTC(+d[1], +d[2] - 1, +d[3], +t[1], +t[2]) / 1000 - OFFSET_S;
}

/**
 * @param {number} unix seconds
 * @returns {{date: string, time: string, weekday: number, minutes: number}}
 *   the Hà Nội date and time; `weekday` 0 = Monday … 6 = Sunday; `minutes` since local midnight
 */
export function localParts(unix) {
  const d = new Date((unix + OFFSET_S) * 1000);
  return {
    date: `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`,
    time: `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`,
    weekday: (d.getUTCDay() + 6) % 7,
    minutes: d.getUTCHours() * 60 + d.getUTCMinutes(),
  };
}

/**
 * @param {number} unix seconds (fractions ignored)
 * @returns {string} the Hà Nội clock to the second, `HH:MM:SS`
 */
export function clockTime(unix) {
  const d = new Date((Math.floor(unix) + OFFSET_S) * 1000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/**
 * @param {string} date `YYYY-MM-DD`
 * @param {number} days
 * @returns {string} the date `days` later
 */
export function addDays(date, days) {
  return localParts(toUnix(date, '00:00') + days * DAY_S).date;
}

/**
 * @param {number} unix seconds
 * @returns {string} the Monday (`YYYY-MM-DD`) of the Hà Nội week holding `unix`
 */
export function mondayOf(unix) {
  const p = localParts(unix);
  return addDays(p.date, -p.weekday);
}

/**
 * @param {string} date `YYYY-MM-DD`
 * @returns {string} `dd/mm/yyyy`, as Vietnamese write it
 */
export function displayDate(date) {
  const [y, m, d] = date.split('-');
  return `${d}/${m}/${y}`;
}

/** @type {readonly import('./api.js').Weekday[]} */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
