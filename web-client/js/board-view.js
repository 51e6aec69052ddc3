// The operator board's DOM: one card per live or upcoming meeting with a tile
// per rostered terminal (coloured by presence and quality, its figures
// coloured against the feed's thresholds, a chart of its recent bitrate and
// loss), and the alarm list. Elements are kept by key and updated in place
// every second, so nothing flickers and nothing is rebuilt for nothing.
// A UI module: it touches the DOM; board.js feeds it.

import './board-strings.js';
import { lang, t } from './i18n.js';
import { setText } from './ui.js';
import { clockTime, displayDate, localParts } from './hanoi-time.js';
import { drawChart, makeChart, WINDOW_MS } from './board-chart.js';

/**
 * The feed's shapes (docs/api.md, "Operator board").
 * @typedef {{loss_warn: number, loss_bad: number, rtt_warn_ms: number,
 *   degraded_alarm_secs: number, silent_alarm_secs: number, freeze_warn_secs?: number}} Thresholds
 * @typedef {{bitrate_in_bps?: number | null, bitrate_out_bps?: number | null, loss_in?: number | null,
 *   loss_out?: number | null, jitter_ms?: number | null, rtt_ms?: number | null,
 *   layer?: string | null, audio_level?: number | null}} ServerView
 * @typedef {{frames_per_second?: number | null, freeze_count?: number | null,
 *   total_freezes_duration_ms?: number | null, jitter_ms?: number | null, loss?: number | null,
 *   audio_level?: number | null, rtt_ms?: number | null, last_freeze_at?: number | null, at?: number}} ClientView
 * @typedef {'joined' | 'absent' | 'dropped' | 'left' | 'invited'} Presence
 * @typedef {'good' | 'warn' | 'bad' | 'unknown'} Quality
 * @typedef {{terminal_id: string, name: string, unit: string, presence: Presence,
 *   joined_at: number | null, host: boolean, rostered?: boolean, server: ServerView | null, client: ClientView | null,
 *   quality: Quality, history: import('./board-chart.js').Sample[]}} Terminal
 * @typedef {{meeting_id: string, occurrence: number, room: string, title: string, starts_at: number,
 *   ends_at: number, state: 'live' | 'next', mode: string, host_terminal_id: string,
 *   terminals: Terminal[]}} Meeting
 * @typedef {{id: string, kind: string, meeting_id: string, room: string, terminal_id: string | null,
 *   raised_at: number, cleared_at: number | null, message_vi: string, message_en: string}} Alarm
 * @typedef {{at: number, thresholds: Thresholds, meetings: Meeting[], alarms: Alarm[]}} Board
 * @typedef {'good' | 'warn' | 'bad' | ''} Level '' when no threshold applies
 * @typedef {{key: string, text: string, level: Level, meter?: number}} Figure
 */

/** @param {unknown} v @returns {v is number} */
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/**
 * @param {...(number | null | undefined)} values
 * @returns {number | null} the largest known value
 */
function maxOf(...values) {
  const known = values.filter(isNum);
  return known.length ? Math.max(...known) : null;
}

/**
 * @param {number} v
 * @param {number} digits
 * @returns {string} in the page's language (Vietnamese: decimal comma)
 */
function fmt(v, digits = 0) {
  return new Intl.NumberFormat(lang() === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: digits }).format(v);
}

/** @param {number} bps @returns {string} */
function bitrate(bps) {
  return bps >= 1e6 ? `${fmt(bps / 1e6, 1)} Mbit/s` : `${fmt(bps / 1e3)} kbit/s`;
}

/** Without `freeze_warn_secs` in the feed: a freeze this recent earns a warning. */
const FREEZE_WARN_SECS = 10;

/**
 * A terminal's figures as the tile shows them, each with its level against
 * the thresholds: loss (the worse of what the server and the terminal saw),
 * jitter, round trip, bitrate in and out, frame rate, freezes (a warning while
 * the last one is recent), audio level and the video layer it receives.
 * @param {Terminal} term
 * @param {Thresholds} th
 * @param {number} at the board's time, unix ms
 * @returns {Figure[]}
 */
export function figuresOf(term, th, at) {
  const s = term.server ?? {};
  const c = term.client ?? {};
  const none = t('fig.none');
  /** @type {Figure[]} */
  const figures = [];
  const loss = maxOf(s.loss_in, c.loss);
  figures.push({
    key: 'loss',
    text: loss === null ? none : `${fmt(loss * 100, 1)} %`,
    level: loss === null ? '' : loss > th.loss_bad ? 'bad' : loss > th.loss_warn ? 'warn' : 'good',
  });
  const jitter = maxOf(s.jitter_ms, c.jitter_ms);
  figures.push({ key: 'jitter', text: jitter === null ? none : `${fmt(jitter)} ms`, level: '' });
  const rtt = maxOf(s.rtt_ms, c.rtt_ms);
  figures.push({
    key: 'rtt',
    text: rtt === null ? none : `${fmt(rtt)} ms`,
    level: rtt === null ? '' : rtt > th.rtt_warn_ms ? 'warn' : 'good',
  });
  const up = isNum(s.bitrate_in_bps) ? bitrate(s.bitrate_in_bps) : none;
  const down = isNum(s.bitrate_out_bps) ? bitrate(s.bitrate_out_bps) : none;
  figures.push({ key: 'bitrate', text: `↑ ${up}  ↓ ${down}`, level: '' });
  figures.push({ key: 'fps', text: isNum(c.frames_per_second) ? fmt(c.frames_per_second) : none, level: '' });
  const freezes = isNum(c.freeze_count) ? c.freeze_count : null;
  figures.push({
    key: 'freezes',
    text: freezes === null ? none : t('fig.freezes.value', { n: fmt(freezes), s: fmt((c.total_freezes_duration_ms ?? 0) / 1000, 1) }),
    level: freezes === null ? '' : recentFreeze(c, th, at) ? 'warn' : 'good',
  });
  const audio = isNum(s.audio_level) ? s.audio_level : isNum(c.audio_level) ? c.audio_level : null;
  figures.push({
    key: 'audio',
    text: audio === null ? none : fmt(audio * 100),
    level: '',
    meter: audio === null ? undefined : Math.min(1, Math.max(0, audio)),
  });
  const layer = s.layer && ['f', 'h', 'q'].includes(s.layer) ? t(`layer.${s.layer}`) : none;
  figures.push({ key: 'layer', text: layer, level: '' });
  return figures;
}

/**
 * @param {ClientView} c
 * @param {Thresholds} th
 * @param {number} at unix ms
 * @returns {boolean} whether the terminal reported a freeze within the warning window
 */
function recentFreeze(c, th, at) {
  if (!isNum(c.freeze_count) || c.freeze_count === 0) return false;
  // An older server without `last_freeze_at`: any freeze counts.
  if (!isNum(c.last_freeze_at)) return true;
  return at - c.last_freeze_at <= (th.freeze_warn_secs ?? FREEZE_WARN_SECS) * 1000;
}

/**
 * Keeps `parent`'s children in step with `items`: one element per key,
 * created once, updated every time, in the items' order.
 * @template T
 * @param {Element} parent
 * @param {T[]} items
 * @param {(item: T) => string} keyOf
 * @param {(item: T) => HTMLElement} create
 * @param {(el: HTMLElement, item: T) => void} update
 */
function reconcile(parent, items, keyOf, create, update) {
  /** @type {Map<string, HTMLElement>} */
  const old = new Map();
  for (const el of /** @type {HTMLCollectionOf<HTMLElement>} */ (parent.children)) old.set(el.dataset.key ?? '', el);
  /** @type {Element | null} */
  let next = parent.firstElementChild;
  for (const item of items) {
    const key = keyOf(item);
    let el = old.get(key);
    old.delete(key);
    if (!el) {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    if (el === next) next = el.nextElementSibling;
    else parent.insertBefore(el, next);
  }
  for (const el of old.values()) el.remove();
}

/**
 * @param {string} tag
 * @param {string} className
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, text) {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * @param {HTMLElement} root
 * @param {string} selector
 * @returns {HTMLElement}
 */
const part = (root, selector) => /** @type {HTMLElement} */ (root.querySelector(selector));

/** @param {string} mode @returns {string} */
const modeLabel = (mode) => t(`board.mode.${mode === 'controlled_discussion' ? 'controlled' : mode}`);

/**
 * The board's DOM. Events (`CustomEvent`s): `attendance` `{meeting}` — the
 * operator asked for a meeting's attendance CSV.
 */
export class BoardView extends EventTarget {
  /** @type {Board | null} */
  board = null;
  #meetings;
  #alarms;

  /**
   * @param {{meetings: HTMLElement, alarms: HTMLElement}} parts the meetings' container and the alarms' list
   */
  constructor({ meetings, alarms }) {
    super();
    this.#meetings = meetings;
    this.#alarms = alarms;
  }

  /** @param {Board} board the whole board, as the feed sent it */
  render(board) {
    this.board = board;
    const updated = document.getElementById('board-updated');
    if (updated) setText(updated, 'board.updated', { time: clockTime(board.at / 1000) });
    const empty = document.getElementById('board-empty');
    if (empty) {
      setText(empty, 'board.none');
      empty.hidden = board.meetings.length > 0;
    }
    reconcile(this.#meetings, board.meetings, (m) => m.room, () => this.#makeMeeting(),
      (card, m) => this.#updateMeeting(card, m, board));
    this.#renderAlarms(board);
  }

  /** Draws the last board again (after a language switch). */
  redraw() {
    if (this.board) this.render(this.board);
  }

  /** Forgets the board (logged out). */
  clear() {
    this.board = null;
    this.#meetings.replaceChildren();
    this.#alarms.replaceChildren();
  }

  #makeMeeting() {
    const card = el('article', 'meeting');
    const head = el('header', 'meeting-head');
    const csv = /** @type {HTMLButtonElement} */ (el('button', 'btn btn-small meeting-csv'));
    csv.type = 'button';
    csv.addEventListener('click', () => {
      const meeting = this.board?.meetings.find((m) => m.room === card.dataset.key);
      if (meeting) this.dispatchEvent(new CustomEvent('attendance', { detail: { meeting, button: csv } }));
    });
    head.append(
      el('span', 'meeting-state'),
      el('h3', 'meeting-title'),
      el('span', 'meeting-when'),
      el('span', 'meeting-mode'),
      el('span', 'meeting-count'),
      csv,
    );
    card.append(head, el('div', 'tiles'));
    return card;
  }

  /**
   * @param {HTMLElement} card
   * @param {Meeting} m
   * @param {Board} board
   */
  #updateMeeting(card, m, board) {
    card.dataset.state = m.state;
    card.dataset.meetingId = m.meeting_id;
    card.dataset.occurrence = String(m.occurrence);
    part(card, '.meeting-state').textContent = t(`meeting.state.${m.state}`);
    part(card, '.meeting-title').textContent = m.title;
    const start = localParts(m.starts_at);
    part(card, '.meeting-when').textContent = t('meeting.when', {
      start: start.time, end: localParts(m.ends_at).time, date: displayDate(start.date),
    });
    part(card, '.meeting-mode').textContent = modeLabel(m.mode);
    // "18/20 in" counts the roster; a room that came without being on it is shown but not counted.
    const roster = m.terminals.filter((x) => x.rostered !== false);
    const joined = roster.filter((x) => x.presence === 'joined').length;
    const count = part(card, '.meeting-count');
    count.textContent = t('meeting.count', { joined, total: roster.length });
    count.dataset.full = String(joined === roster.length);
    const csv = part(card, '.meeting-csv');
    if (!csv.classList.contains('busy')) csv.textContent = t('meeting.csv');
    csv.title = t('meeting.csv.title');
    reconcile(part(card, '.tiles'), m.terminals, (x) => x.terminal_id, makeTile, (tile, x) => updateTile(tile, x, board));
  }

  /** @param {Board} board */
  #renderAlarms(board) {
    const active = board.alarms.filter((a) => a.cleared_at === null).sort((a, b) => b.raised_at - a.raised_at);
    const cleared = board.alarms.filter((a) => a.cleared_at !== null)
      .sort((a, b) => /** @type {number} */ (b.cleared_at) - /** @type {number} */ (a.cleared_at));
    const count = document.getElementById('alarm-count');
    if (count) {
      count.textContent = active.length ? t('alarms.active', { n: active.length }) : '';
      count.hidden = !active.length;
    }
    const none = document.getElementById('alarms-none');
    if (none) {
      setText(none, 'alarms.none');
      none.hidden = board.alarms.length > 0;
    }
    reconcile(this.#alarms, [...active, ...cleared], (a) => a.id, makeAlarm, (li, a) => updateAlarm(li, a, board));
  }
}

/** @returns {HTMLElement} */
function makeTile() {
  const tile = el('div', 'tile');
  const head = el('div', 'tile-head');
  head.append(el('span', 'tile-name'), el('span', 'tile-host'), el('span', 'tile-guest'));
  const figures = el('dl', 'tile-figures');
  const chart = makeChart();
  tile.append(head, el('div', 'tile-unit'), el('div', 'tile-presence'), figures, chart);
  return tile;
}

/**
 * @param {HTMLElement} tile
 * @param {Terminal} x
 * @param {Board} board
 */
function updateTile(tile, x, board) {
  tile.dataset.terminalId = x.terminal_id;
  tile.dataset.presence = x.presence;
  tile.dataset.quality = x.presence === 'joined' ? x.quality : 'none';
  const name = part(tile, '.tile-name');
  name.textContent = x.name;
  name.title = x.name;
  const host = part(tile, '.tile-host');
  host.textContent = t('terminal.host');
  host.hidden = !x.host;
  const guest = part(tile, '.tile-guest');
  guest.textContent = t('terminal.guest');
  guest.hidden = x.rostered !== false;
  part(tile, '.tile-unit').textContent = x.unit;
  const since = x.presence === 'joined' && x.joined_at ? ` · ${t('presence.since', { time: clockTime(x.joined_at) })}` : '';
  const quality = x.presence === 'joined' ? ` · ${t(`quality.${x.quality}`)}` : '';
  part(tile, '.tile-presence').textContent = `${t(`presence.${x.presence}`)}${quality}${since}`;
  const figures = part(tile, '.tile-figures');
  const chart = /** @type {SVGSVGElement} */ (tile.querySelector('svg.chart'));
  const inCall = x.presence === 'joined';
  figures.hidden = !inCall;
  chart.style.display = inCall || x.history.length ? '' : 'none';
  if (inCall) reconcile(figures, figuresOf(x, board.thresholds, board.at), (f) => f.key, makeFigure, updateFigure);
  drawChart(chart, x.history, board.at, board.thresholds.loss_warn, t('chart.label', { min: WINDOW_MS / 60_000 }));
}

/** @returns {HTMLElement} */
function makeFigure() {
  const row = el('div', 'fig');
  const value = el('dd', 'fig-value');
  row.append(el('dt', 'fig-name'), value);
  return row;
}

/**
 * @param {HTMLElement} row
 * @param {Figure} f
 */
function updateFigure(row, f) {
  row.dataset.figure = f.key;
  row.dataset.level = f.level;
  part(row, '.fig-name').textContent = t(`fig.${f.key}`);
  const value = part(row, '.fig-value');
  if (f.meter === undefined) {
    value.textContent = f.text;
    return;
  }
  let meter = /** @type {HTMLMeterElement | null} */ (value.querySelector('meter'));
  if (!meter) {
    meter = /** @type {HTMLMeterElement} */ (document.createElement('meter'));
    meter.min = 0;
    meter.max = 1;
    value.replaceChildren(meter, el('span', 'fig-meter-text'));
  }
  meter.value = f.meter;
  part(value, '.fig-meter-text').textContent = f.text;
}

/** @returns {HTMLElement} */
function makeAlarm() {
  const li = el('li', 'alarm');
  const head = el('div', 'alarm-head');
  head.append(el('time', 'alarm-time'), el('span', 'alarm-kind'));
  const show = /** @type {HTMLButtonElement} */ (el('button', 'alarm-show'));
  show.type = 'button';
  show.addEventListener('click', () => {
    const { room, terminalId } = li.dataset;
    const tile = room && terminalId
      ? /** @type {HTMLElement | null} */ (document.querySelector(`.meeting[data-key="${CSS.escape(room)}"] .tile[data-terminal-id="${CSS.escape(terminalId)}"]`))
      : null;
    if (!tile) return;
    tile.scrollIntoView({ block: 'center', behavior: 'smooth' });
    tile.classList.remove('flash');
    void tile.offsetWidth; // restart the animation
    tile.classList.add('flash');
  });
  li.append(head, el('div', 'alarm-message'), el('div', 'alarm-meta'), show);
  return li;
}

/**
 * @param {HTMLElement} li
 * @param {Alarm} a
 * @param {Board} board
 */
function updateAlarm(li, a, board) {
  const active = a.cleared_at === null;
  li.dataset.kind = a.kind;
  li.dataset.state = active ? 'active' : 'cleared';
  li.dataset.terminalId = a.terminal_id ?? '';
  li.dataset.meetingId = a.meeting_id;
  li.dataset.room = a.room;
  const time = part(li, '.alarm-time');
  time.textContent = clockTime(a.raised_at / 1000);
  time.setAttribute('datetime', new Date(a.raised_at).toISOString());
  part(li, '.alarm-kind').textContent = t(`alarm.kind.${a.kind}`);
  part(li, '.alarm-message').textContent = lang() === 'en' ? a.message_en : a.message_vi;
  const meeting = board.meetings.find((m) => m.room === a.room);
  const meta = [meeting?.title ?? a.room];
  if (!active) meta.push(t('alarm.cleared', { time: clockTime(/** @type {number} */ (a.cleared_at) / 1000) }));
  part(li, '.alarm-meta').textContent = meta.join(' · ');
  const show = part(li, '.alarm-show');
  show.textContent = t('alarm.show');
  show.hidden = !a.terminal_id || !meeting;
}
