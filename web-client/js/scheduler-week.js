// The week view: seven columns, Monday to Sunday (Hà Nội calendar), each
// meeting a block placed and sized by its local start and end. A picture,
// not a table. A UI module: it touches the DOM.

import { t } from './i18n.js';
import { addDays, displayDate, localParts, toUnix } from './hanoi-time.js';

/** @typedef {import('./api.js').ScheduledOccurrence} ScheduledOccurrence */

const DEFAULT_FIRST_HOUR = 7;
const DEFAULT_LAST_HOUR = 18;

/**
 * @param {string} monday `YYYY-MM-DD`
 * @returns {{from: number, to: number}} the week as unix seconds `[from, to)`
 */
export function weekWindow(monday) {
  return { from: toUnix(monday, '00:00'), to: toUnix(addDays(monday, 7), '00:00') };
}

/**
 * Draws the week into `container`.
 * @param {HTMLElement} container
 * @param {string} monday `YYYY-MM-DD`
 * @param {ScheduledOccurrence[]} items the occurrences overlapping the week
 * @param {(item: ScheduledOccurrence) => void} onOpen
 */
export function renderWeek(container, monday, items, onOpen) {
  const { from, to } = weekWindow(monday);
  // Each occurrence cut to the days it covers, in minutes since that day's midnight.
  /** @type {{item: ScheduledOccurrence, day: number, top: number, bottom: number, lane: number, lanes: number}[][]} */
  const days = Array.from({ length: 7 }, () => []);
  for (const item of items) {
    const s = Math.max(item.occurrence.start, from);
    const e = Math.min(item.occurrence.end, to);
    for (let day = 0; day < 7; day++) {
      const dayStart = from + day * 86400;
      const a = Math.max(s, dayStart);
      const b = Math.min(e, dayStart + 86400);
      if (b > a) days[day].push({ item, day, top: (a - dayStart) / 60, bottom: (b - dayStart) / 60, lane: 0, lanes: 1 });
    }
  }
  let first = DEFAULT_FIRST_HOUR * 60;
  let last = DEFAULT_LAST_HOUR * 60;
  for (const d of days) {
    for (const p of d) {
      first = Math.min(first, Math.floor(p.top / 60) * 60);
      last = Math.max(last, Math.ceil(p.bottom / 60) * 60);
    }
    placeInLanes(d);
  }
  const span = last - first;

  const grid = document.createElement('div');
  grid.className = 'week-grid';
  grid.style.setProperty('--hours', String(span / 60));

  const corner = document.createElement('div');
  corner.className = 'week-corner';
  grid.append(corner);
  const today = localParts(Date.now() / 1000).date;
  for (let day = 0; day < 7; day++) {
    const date = addDays(monday, day);
    const head = document.createElement('div');
    head.className = 'week-dayhead';
    if (date === today) head.classList.add('today');
    const name = document.createElement('strong');
    name.textContent = t(`day.${day}`);
    const dateEl = document.createElement('span');
    dateEl.textContent = displayDate(date).slice(0, 5);
    head.append(name, dateEl);
    grid.append(head);
  }

  const axis = document.createElement('div');
  axis.className = 'week-axis';
  for (let m = first; m < last; m += 60) {
    const mark = document.createElement('span');
    mark.style.top = `${((m - first) / span) * 100}%`;
    mark.textContent = `${String(m / 60).padStart(2, '0')}:00`;
    axis.append(mark);
  }
  grid.append(axis);

  const nowParts = localParts(Date.now() / 1000);
  for (let day = 0; day < 7; day++) {
    const col = document.createElement('div');
    col.className = 'week-day';
    col.dataset.date = addDays(monday, day);
    if (col.dataset.date === today) {
      col.classList.add('today');
      if (nowParts.minutes >= first && nowParts.minutes <= last) {
        const now = document.createElement('div');
        now.className = 'week-now';
        now.style.top = `${((nowParts.minutes - first) / span) * 100}%`;
        col.append(now);
      }
    }
    for (const p of days[day]) col.append(block(p, first, span, onOpen));
    grid.append(col);
  }
  container.replaceChildren(grid);
}

/**
 * Gives overlapping blocks of one day side-by-side lanes.
 * @param {{top: number, bottom: number, lane: number, lanes: number}[]} placed
 */
function placeInLanes(placed) {
  placed.sort((a, b) => a.top - b.top || b.bottom - a.bottom);
  /** @type {typeof placed} */
  let cluster = [];
  /** @type {number[]} */
  let laneEnds = [];
  let clusterEnd = -1;
  const close = () => {
    for (const p of cluster) p.lanes = laneEnds.length;
    cluster = [];
    laneEnds = [];
  };
  for (const p of placed) {
    if (p.top >= clusterEnd) close();
    let lane = laneEnds.findIndex((end) => end <= p.top);
    if (lane < 0) lane = laneEnds.push(0) - 1;
    laneEnds[lane] = p.bottom;
    p.lane = lane;
    cluster.push(p);
    clusterEnd = Math.max(clusterEnd, p.bottom);
  }
  close();
}

/**
 * @param {{item: ScheduledOccurrence, top: number, bottom: number, lane: number, lanes: number}} p
 * @param {number} first minutes of the top of the grid
 * @param {number} span minutes the grid covers
 * @param {(item: ScheduledOccurrence) => void} onOpen
 * @returns {HTMLButtonElement}
 */
function block(p, first, span, onOpen) {
  const { item } = p;
  const el = document.createElement('button');
  el.type = 'button';
  el.className = `week-meeting mode-${item.mode} status-${item.occurrence.status}`;
  el.dataset.meetingId = item.meeting_id;
  el.style.top = `${((p.top - first) / span) * 100}%`;
  el.style.height = `${((p.bottom - p.top) / span) * 100}%`;
  el.style.left = `${(p.lane / p.lanes) * 100}%`;
  el.style.width = `${100 / p.lanes}%`;
  const time = document.createElement('span');
  time.className = 'week-meeting-time';
  time.textContent = `${item.occurrence.start_local.slice(11)}–${item.occurrence.end_local.slice(11)}`;
  const title = document.createElement('span');
  title.className = 'week-meeting-title';
  title.textContent = item.title;
  el.append(time, title);
  const detail = `${item.title}\n${item.occurrence.start_local} – ${item.occurrence.end_local.slice(11)}\n${t(`mode.${item.mode}`)} · ${item.roster.length}`;
  el.title = item.occurrence.status === 'cancelled' ? `${detail}\n${t('meeting.cancelled')}` : detail;
  el.addEventListener('click', () => onOpen(item));
  return el;
}
