// The kiosk's own screens (kiosk.html): the one-time setup form, the clock
// with the next meeting, and the "waiting for the chair" banner over the call.
// A UI module: touches the DOM, knows nothing of the server. The call itself
// is ui.js's RoomView.

import { t, lang, addStrings } from './i18n.js';
import { setText } from './ui.js';

/**
 * @typedef {import('./kiosk.js').KioskUpdate} KioskUpdate
 * @typedef {'setup' | 'waiting' | 'call'} Screen
 */

const TIME_ZONE = 'Asia/Ho_Chi_Minh';

addStrings({
  vi: {
    'kiosk.page': 'Màn hình điểm cầu — Hội nghị truyền hình trực tuyến',
    'kiosk.setup.title': 'Cài đặt điểm cầu',
    'kiosk.setup.intro':
      'Dán mã thiết bị (hnd_…) do quản trị viên cấp khi đăng ký điểm cầu. Chỉ cần nhập một lần: máy sẽ nhớ mã và tự tham gia các cuộc họp của điểm cầu.',
    'kiosk.setup.label': 'Mã thiết bị',
    'kiosk.setup.placeholder': 'hnd_…',
    'kiosk.setup.save': 'Lưu và bắt đầu',
    'kiosk.setup.empty': 'Hãy dán mã thiết bị.',
    'kiosk.refused':
      'Máy chủ không chấp nhận mã thiết bị này (sai mã, mã đã được đổi hoặc điểm cầu bị khoá). Hãy xin quản trị viên mã mới và nhập lại.',
    'kiosk.reset': 'Cài đặt lại',
    'kiosk.resetTitle': 'Xoá mã thiết bị đã lưu trên máy này (dành cho kỹ thuật viên)',
    'kiosk.resetConfirm': 'Xoá mã thiết bị khỏi máy này? Điểm cầu sẽ không tự tham gia họp cho tới khi nhập mã mới.',
    'kiosk.next': 'Cuộc họp tiếp theo',
    'kiosk.nextOpen': 'Sắp họp — đang vào phòng họp…',
    'kiosk.none': 'Chưa có cuộc họp nào sắp tới',
    'kiosk.time': '{start} – {end}, {date}',
    'kiosk.host': 'Chủ trì: {name}',
    'kiosk.hostSelf': 'Điểm cầu này chủ trì',
    'kiosk.in.minutes': 'còn {m} phút',
    'kiosk.in.hours': 'còn {h} giờ {m} phút',
    'kiosk.in.days': 'còn {d} ngày',
    'kiosk.in.now': 'đang diễn ra',
    'kiosk.waitingChair': 'Đang chờ chủ trì…',
    'kiosk.startsAt': 'Cuộc họp bắt đầu lúc {time} ({left})',
    'kiosk.meeting': '{title} · {start} – {end}',
    'kiosk.problem.network': 'Mất kết nối tới máy chủ — đang thử lại…',
    'kiosk.problem.outside_window': 'Chưa tới giờ vào phòng họp — đang thử lại…',
    'kiosk.problem.not_rostered': 'Điểm cầu này không có trong danh sách cuộc họp',
    'kiosk.problem.other': 'Máy chủ báo lỗi ({code}) — đang thử lại…',
  },
  en: {
    'kiosk.page': 'Room terminal screen — Video conference',
    'kiosk.setup.title': 'Set up this room terminal',
    'kiosk.setup.intro':
      'Paste the device credential (hnd_…) the administrator was shown when registering this room. It is asked once: this computer keeps it and joins the room’s meetings by itself.',
    'kiosk.setup.label': 'Device credential',
    'kiosk.setup.placeholder': 'hnd_…',
    'kiosk.setup.save': 'Save and start',
    'kiosk.setup.empty': 'Paste the device credential.',
    'kiosk.refused':
      'The server refuses this device credential (mistyped, rotated, or the terminal is revoked). Ask the administrator for a new one and enter it again.',
    'kiosk.reset': 'Reset',
    'kiosk.resetTitle': 'Forget the device credential stored on this computer (for the technician)',
    'kiosk.resetConfirm': 'Forget the device credential on this computer? The room will not join meetings until a new one is entered.',
    'kiosk.next': 'Next meeting',
    'kiosk.nextOpen': 'Starting soon — joining the meeting…',
    'kiosk.none': 'No meetings ahead',
    'kiosk.time': '{start} – {end}, {date}',
    'kiosk.host': 'Chaired by: {name}',
    'kiosk.hostSelf': 'This room chairs the meeting',
    'kiosk.in.minutes': 'in {m} min',
    'kiosk.in.hours': 'in {h} h {m} min',
    'kiosk.in.days': 'in {d} days',
    'kiosk.in.now': 'under way',
    'kiosk.waitingChair': 'Waiting for the chair…',
    'kiosk.startsAt': 'The meeting starts at {time} ({left})',
    'kiosk.meeting': '{title} · {start} – {end}',
    'kiosk.problem.network': 'Cannot reach the server — retrying…',
    'kiosk.problem.outside_window': 'Not time to join yet — retrying…',
    'kiosk.problem.not_rostered': 'This room is not on the meeting’s roster',
    'kiosk.problem.other': 'Server error ({code}) — retrying…',
  },
});

/** @returns {string} the locale for dates in the current language */
const locale = () => (lang() === 'en' ? 'en-GB' : 'vi-VN');

/**
 * @param {number} unix seconds
 * @param {boolean} [seconds]
 * @returns {string} `HH:MM` (or `HH:MM:SS`), Hà Nội time
 */
export function clockTime(unix, seconds = false) {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE,
    hour: '2-digit',
    minute: '2-digit',
    second: seconds ? '2-digit' : undefined,
    hourCycle: 'h23',
  }).format(unix * 1000);
}

/**
 * @param {number} unix seconds
 * @param {string} loc `vi-VN` or `en-GB`
 * @returns {string} e.g. `Thứ Tư, 25/11/2026`, Hà Nội calendar
 */
export function longDate(unix, loc) {
  const parts = new Intl.DateTimeFormat(loc, { timeZone: TIME_ZONE, weekday: 'long' }).format(unix * 1000);
  const date = new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE,
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
  }).format(unix * 1000);
  return `${parts[0].toUpperCase()}${parts.slice(1)}, ${date}`;
}

/**
 * The string key and parameters saying how long until `start`.
 * @param {number} start unix seconds
 * @param {number} now unix seconds
 * @returns {[string, Record<string, number>]}
 */
export function timeLeft(start, now) {
  const minutes = Math.ceil((start - now) / 60);
  if (minutes <= 0) return ['kiosk.in.now', {}];
  if (minutes < 60) return ['kiosk.in.minutes', { m: minutes }];
  if (minutes < 48 * 60) return ['kiosk.in.hours', { h: Math.floor(minutes / 60), m: minutes % 60 }];
  return ['kiosk.in.days', { d: Math.floor(minutes / 1440) }];
}

/** The kiosk's screens. Events: `credential` `{credential}`, `reset`. */
export class KioskView extends EventTarget {
  /** @type {KioskUpdate | null} */
  #last = null;
  /** @type {string | null} this terminal's endpoint id, to tell when it chairs */
  selfId = null;

  constructor() {
    super();
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
    this.body = document.body;
    this.setupError = $('setup-error');
    this.setupHint = $('setup-hint');
    this.input = /** @type {HTMLInputElement} */ ($('credential-input'));
    this.terminalName = $('terminal-name');
    this.clockTime = $('clock-time');
    this.clockDate = $('clock-date');
    this.nextCard = $('next-card');
    this.nextLabel = $('next-label');
    this.nextTitle = $('next-title');
    this.nextTime = $('next-time');
    this.nextHost = $('next-host');
    this.nextCountdown = $('next-countdown');
    this.noMeeting = $('no-meeting');
    this.chairBanner = $('chair-banner');
    this.chairDetail = $('chair-detail');
    this.problem = $('kiosk-problem');
    this.problemText = $('kiosk-problem-text');
    this.meeting = $('kiosk-meeting');

    $('setup-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const credential = credentialFromInput(this.input.value);
      if (!credential) {
        this.setupHint.hidden = false;
        setText(this.setupHint, 'kiosk.setup.empty');
        return;
      }
      this.input.value = '';
      this.setupHint.hidden = true;
      this.dispatchEvent(new CustomEvent('credential', { detail: { credential } }));
    });
    $('kiosk-reset').addEventListener('click', () => {
      if (confirm(t('kiosk.resetConfirm'))) this.dispatchEvent(new Event('reset'));
    });
    this.#tick();
    setInterval(() => this.#tick(), 1000);
  }

  /** @returns {Screen} */
  get screen() {
    return /** @type {Screen} */ (this.body.dataset.screen);
  }

  /**
   * @param {Screen} screen
   */
  show(screen) {
    this.body.dataset.screen = screen;
    if (screen === 'setup') {
      this.#last = null;
      this.problem.hidden = true;
      this.input.focus();
    } else {
      this.setupError.hidden = true;
    }
    this.#render();
  }

  /** @param {string} errorKey shown above the setup form */
  showSetupError(errorKey) {
    this.setupError.hidden = false;
    setText(this.setupError, errorKey);
  }

  /** @param {string | null} name this terminal's name, for the top bar */
  setTerminal(name) {
    this.terminalName.hidden = !name;
    this.terminalName.textContent = name ?? '';
  }

  /** @param {KioskUpdate} update */
  render(update) {
    this.#last = update;
    this.body.dataset.phase = update.phase;
    this.#render();
  }

  #tick() {
    const now = Date.now() / 1000;
    this.clockTime.textContent = clockTime(now, true);
    this.clockDate.textContent = longDate(now, locale());
    this.#render();
  }

  /** Everything that depends on the time or the language, redrawn every second. */
  #render() {
    const now = Date.now() / 1000;
    const u = this.#last;
    const next = u?.next ?? null;
    this.noMeeting.hidden = !u || next !== null;
    this.nextCard.hidden = !next;
    if (next) {
      const o = next.occurrence;
      setText(this.nextLabel, u?.phase === 'joining' ? 'kiosk.nextOpen' : 'kiosk.next');
      this.nextTitle.textContent = next.meeting.title;
      setText(this.nextTime, 'kiosk.time', {
        start: clockTime(o.start),
        end: clockTime(o.end),
        date: longDate(o.start, locale()),
      });
      const m = next.meeting;
      const hostKey = m.host_endpoint_id === this.selfId ? 'kiosk.hostSelf' : m.host_name ? 'kiosk.host' : null;
      this.nextHost.hidden = !hostKey;
      if (hostKey) setText(this.nextHost, hostKey, { name: m.host_name ?? '' });
      const [key, params] = timeLeft(o.start, now);
      setText(this.nextCountdown, key, params);
    }

    const grant = u?.grant ?? null;
    const waiting = this.screen === 'call' && grant !== null && now < grant.occurrence_start;
    this.chairBanner.hidden = !waiting;
    if (grant && waiting) {
      const [key, params] = timeLeft(grant.occurrence_start, now);
      setText(this.chairDetail, 'kiosk.startsAt', { time: clockTime(grant.occurrence_start), left: t(key, params) });
    }
    this.meeting.hidden = !(this.screen === 'call' && next);
    if (next && this.screen === 'call') {
      setText(this.meeting, 'kiosk.meeting', {
        title: next.meeting.title,
        start: clockTime(next.occurrence.start),
        end: clockTime(next.occurrence.end),
      });
    }

    const problem = this.screen === 'setup' ? null : (u?.problem ?? null);
    this.problem.hidden = problem === null;
    if (problem) {
      const key = `kiosk.problem.${problem}`;
      if (t(key) !== key) setText(this.problemText, key);
      else setText(this.problemText, 'kiosk.problem.other', { code: problem });
    }
  }
}

/**
 * The credential in what the technician pasted: the bare `hnd_…` or a whole
 * `/kiosk#credential=hnd_…` link.
 * @param {string} input
 * @returns {string | null}
 */
export function credentialFromInput(input) {
  const text = input.trim();
  if (!text) return null;
  const hashAt = text.indexOf('#');
  if (hashAt >= 0) return new URLSearchParams(text.slice(hashAt + 1)).get('credential')?.trim() || null;
  return /\s/.test(text) ? null : text;
}
