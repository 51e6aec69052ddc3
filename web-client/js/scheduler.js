// The scheduler page (scheduler.html) for the province's IT staff: the login
// form, then the organisation tree and the week of meetings. A UI module: it
// touches the DOM and drives api.js.

import './scheduler-strings.js';
import { setText, setupLanguageSwitch } from './ui.js';
import * as api from './api.js';
import { addDays, displayDate, mondayOf } from './hanoi-time.js';
import { makeRegistry, renderTree } from './scheduler-tree.js';
import { renderWeek, weekWindow } from './scheduler-week.js';
import { openTerminalDialog } from './scheduler-terminal.js';
import { openMeetingDialog } from './scheduler-meeting.js';
import { describeError } from './staff-feedback.js';
import { setupStaffLogin } from './staff-login.js';

/** @typedef {import('./scheduler-tree.js').Registry} Registry */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {Registry} */
let registry = makeRegistry([], []);
let monday = mondayOf(Date.now() / 1000);
/** @type {import('./api.js').ScheduledOccurrence[]} */
let week = [];
let weekRequest = 0;

const canWrite = () => api.session()?.role !== 'operator';

async function showApp() {
  for (const el of document.querySelectorAll('.write-only')) /** @type {HTMLElement} */ (el).hidden = !canWrite();
  await Promise.all([loadRegistry(), loadWeek()]);
}

async function loadRegistry() {
  const tree = $('org-tree');
  if (!registry.units.length) setText(tree, 'tree.loading');
  try {
    const [units, endpoints] = await Promise.all([api.unitTree(), api.endpoints()]);
    registry = makeRegistry(units, endpoints);
    renderTree(tree, registry, {
      onOpen: canWrite()
        ? (e) => openTerminalDialog(registry, e, () => void loadRegistry())
        : undefined,
    });
  } catch (err) {
    report(err);
  }
}

async function loadWeek() {
  const request = ++weekRequest;
  const { from, to } = weekWindow(monday);
  setText($('week-range'), 'week.range', { from: displayDate(monday), to: displayDate(addDays(monday, 6)) });
  setText($('week-status'), 'week.loading');
  try {
    const items = await api.occurrences(from, to);
    if (request !== weekRequest) return; // the user moved on to another week meanwhile
    week = items;
    drawWeek();
  } catch (err) {
    if (request === weekRequest) report(err);
  }
}

function drawWeek() {
  renderWeek($('week'), monday, week, (item) => void openOccurrence(item));
  const status = $('week-status');
  if (week.length) {
    status.textContent = '';
    delete status.dataset.i18n;
  } else setText(status, 'week.empty');
}

/** @param {import('./api.js').ScheduledOccurrence} item */
async function openOccurrence(item) {
  try {
    const meeting = await api.meeting(item.meeting_id);
    openMeetingDialog(registry, { meeting, occurrence: item.occurrence, readOnly: !canWrite() }, onScheduleChanged);
  } catch (err) {
    report(err);
  }
}

/**
 * Shows a failed request in the notice bar; an ended session is already
 * explained by the login form it sent the user back to.
 * @param {unknown} err
 */
function report(err) {
  if (err instanceof api.ApiError && err.status === 401) return;
  notify(describeError(err), true);
}

/** @param {string} message */
function onScheduleChanged(message) {
  notify(message);
  void loadWeek();
}

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function notify(text, isError = false) {
  const el = $('notice');
  el.textContent = text;
  el.classList.toggle('notice-error', isError);
  el.hidden = false;
  clearTimeout(notifyTimer);
  notifyTimer = setTimeout(() => (el.hidden = true), isError ? 15_000 : 5_000);
}
/** @type {ReturnType<typeof setTimeout> | undefined} */
let notifyTimer;

function wire() {
  setupLanguageSwitch();
  $('add-terminal').addEventListener('click', () => openTerminalDialog(registry, null, () => void loadRegistry()));
  $('new-meeting').addEventListener('click', () => openMeetingDialog(registry, {}, onScheduleChanged));
  $('week-prev').addEventListener('click', () => ((monday = addDays(monday, -7)), void loadWeek()));
  $('week-next').addEventListener('click', () => ((monday = addDays(monday, 7)), void loadWeek()));
  $('week-today').addEventListener('click', () => ((monday = mondayOf(Date.now() / 1000)), void loadWeek()));
  for (const button of document.querySelectorAll('.dialog-close')) {
    button.addEventListener('click', () => /** @type {HTMLDialogElement} */ (button.closest('dialog')).close());
  }
  // Day names and the week's title follow the language.
  document.getElementById('lang-switch')?.addEventListener('click', () => {
    if (!$('app-view').hidden) drawWeek();
  });
  setupStaffLogin({ roles: ['administrator', 'scheduler', 'operator'], onEnter: showApp, onLeave: () => {} });
}

wire();
