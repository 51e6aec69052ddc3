// The operator board page (board.html): staff login (operators and
// administrators), then the live feed drawn by board-view.js, the
// "connection lost, retrying" state, and attendance CSV downloads. Exposes
// `window.hoinghi.board()` (the last board received) for tests and for the
// browser console. A UI module: it touches the DOM.

import './board-strings.js';
import { onLangChange, t } from './i18n.js';
import { setText, setupLanguageSwitch } from './ui.js';
import * as api from './api.js';
import { BoardFeed } from './board-feed.js';
import { BoardView } from './board-view.js';
import { setupStaffLogin } from './staff-login.js';
import { describeError, withProgress } from './staff-feedback.js';

/** @typedef {import('./board-view.js').Meeting} Meeting */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const feed = new BoardFeed();
const view = new BoardView({ meetings: $('meetings'), alarms: $('alarms') });

/** @param {import('./board-feed.js').FeedState} state */
function showFeedState(state) {
  const status = $('feed-status');
  status.dataset.state = state;
  setText($('feed-status-text'), `feed.${state}`);
  $('feed-lost').hidden = state !== 'lost';
  $('app-view').classList.toggle('stale', state === 'lost');
  if (state === 'connecting' && !view.board) {
    setText($('board-empty'), 'board.waiting');
    $('board-empty').hidden = false;
  }
}

/**
 * Downloads a meeting's attendance as CSV with the session's token and saves it.
 * @param {Meeting} meeting
 * @param {HTMLButtonElement} button
 */
async function downloadAttendance(meeting, button) {
  const path = `/meetings/${encodeURIComponent(meeting.meeting_id)}/attendance.csv?occurrence=${meeting.occurrence}`;
  try {
    const { blob, filename } = await withProgress(button, 'meeting.csv.busy',
      () => api.download(path, `diem-danh-${meeting.meeting_id}-${meeting.occurrence}.csv`));
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    if (err instanceof api.ApiError && err.status === 401) return; // back at the login form already
    notify(t('error.download', { message: describeError(err) }));
  }
}

/** @param {string} text */
function notify(text) {
  const el = $('notice');
  el.textContent = text;
  el.classList.add('notice-error');
  el.hidden = false;
  clearTimeout(notifyTimer);
  notifyTimer = setTimeout(() => (el.hidden = true), 15_000);
}
/** @type {ReturnType<typeof setTimeout> | undefined} */
let notifyTimer;

function wire() {
  setupLanguageSwitch();
  onLangChange(() => view.redraw());
  feed.addEventListener('board', (ev) => view.render(/** @type {CustomEvent} */ (ev).detail.board));
  feed.addEventListener('state', (ev) => showFeedState(/** @type {CustomEvent} */ (ev).detail.state));
  view.addEventListener('attendance', (ev) => {
    const { meeting, button } = /** @type {CustomEvent} */ (ev).detail;
    void downloadAttendance(meeting, button);
  });
  /** @type {any} */ (window).hoinghi = { board: () => view.board, feedState: () => feed.state };
  const { showLogin } = setupStaffLogin({
    roles: ['administrator', 'operator'],
    onEnter: () => feed.start(),
    onLeave: () => {
      feed.stop();
      view.clear();
    },
  });
  // A 401 is handled by api.js (back to the login form); a 403 means the role was taken away.
  feed.addEventListener('refused', (ev) => {
    const { error } = /** @type {CustomEvent<{error: api.ApiError}>} */ (ev).detail;
    if (error.status !== 403) return;
    api.clearSession();
    showLogin('login.role');
  });
}

wire();
