// Scheduling, editing and cancelling a meeting: the form, its roster picked
// from the organisation tree, times entered in Hà Nội time. A UI module: it
// touches the DOM.

import { t } from './i18n.js';
import * as api from './api.js';
import { displayDate, localParts, toUnix, WEEKDAYS } from './hanoi-time.js';
import { renderTree } from './scheduler-tree.js';
import { describeError, showError, withProgress } from './staff-feedback.js';

/**
 * @typedef {import('./api.js').Meeting} Meeting
 * @typedef {import('./api.js').MeetingInput} MeetingInput
 * @typedef {import('./api.js').Occurrence} Occurrence
 * @typedef {import('./scheduler-tree.js').Registry} Registry
 * @typedef {{meeting?: Meeting, occurrence?: Occurrence, readOnly?: boolean}} Target
 */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Opens the meeting form: a new meeting when `target.meeting` is absent; an
 * existing one, opened from `target.occurrence`, may also be cancelled.
 * @param {Registry} reg
 * @param {Target} target
 * @param {(message: string) => void} onChanged the schedule changed
 */
export function openMeetingDialog(reg, target, onChanged) {
  const { meeting, occurrence } = target;
  const dialog = /** @type {HTMLDialogElement} */ ($('meeting-dialog'));
  const form = /** @type {HTMLFormElement} */ ($('meeting-form'));
  const field = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(`meeting-${id}`));
  const title = field('title');
  const agenda = /** @type {HTMLTextAreaElement} */ ($('meeting-agenda'));
  const date = field('date');
  const start = field('start');
  const end = field('end');
  const mode = /** @type {HTMLSelectElement} */ ($('meeting-mode'));
  const host = /** @type {HTMLSelectElement} */ ($('meeting-host'));
  const repeat = /** @type {HTMLSelectElement} */ ($('meeting-repeat'));
  const until = field('until');
  const error = $('meeting-error');
  const submit = /** @type {HTMLButtonElement} */ ($('meeting-submit'));
  const cancelOne = /** @type {HTMLButtonElement} */ ($('meeting-cancel-one'));
  const cancelAll = /** @type {HTMLButtonElement} */ ($('meeting-cancel-all'));

  $('meeting-heading').textContent = t(meeting ? 'meeting.heading.edit' : 'meeting.heading.new');
  submit.textContent = t(meeting ? 'meeting.submit.edit' : 'meeting.submit.new');
  submit.hidden = Boolean(target.readOnly);
  showError(error, target.readOnly ? t('meeting.readOnly') : '');

  // A new meeting: the next round half hour, one hour long.
  const s = meeting ? meeting.start : Math.ceil(Date.now() / 1000 / 1800) * 1800;
  const e = meeting ? meeting.end : s + 3600;
  title.value = meeting?.title ?? '';
  agenda.value = meeting?.agenda ?? '';
  date.value = localParts(s).date;
  start.value = localParts(s).time;
  end.value = localParts(e).time;
  mode.value = meeting?.mode ?? 'controlled_discussion';
  repeat.value = meeting?.recurrence?.freq ?? '';
  until.value = meeting?.recurrence?.until ?? '';
  until.disabled = !repeat.value;
  repeat.onchange = () => {
    until.disabled = !repeat.value;
    if (repeat.value && !until.value) until.value = date.value;
  };

  /** @type {Set<string>} */
  const picked = new Set(meeting?.roster ?? []);
  const refreshHost = () => {
    const keep = host.value || meeting?.host_endpoint_id || '';
    host.replaceChildren(new Option(t('meeting.hostPick'), ''));
    for (const e of reg.endpoints) if (picked.has(e.id)) host.append(new Option(e.name, e.id));
    host.value = picked.has(keep) ? keep : picked.size === 1 ? [...picked][0] : '';
    $('roster-legend').textContent = t('meeting.roster', { n: picked.size });
  };
  host.value = '';
  renderTree($('roster-tree'), reg, { picked, onPickChange: refreshHost });
  refreshHost();
  host.value = meeting?.host_endpoint_id ?? '';

  cancelOne.hidden = !meeting || !occurrence || !meeting.recurrence || target.readOnly || meeting.cancelled;
  cancelAll.hidden = !meeting || target.readOnly || meeting.cancelled;
  if (occurrence) cancelOne.textContent = t('meeting.cancelOne', { date: displayDate(occurrence.local_date) });
  const endpointName = (/** @type {string} */ id) => reg.endpointById.get(id)?.name ?? id;

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const input = readForm();
    if (typeof input === 'string') return showError(error, input);
    try {
      await withProgress(submit, 'saving', () =>
        meeting ? api.replaceMeeting(meeting.id, { ...input, revision: meeting.revision }) : api.createMeeting(input),
      );
      dialog.close();
      onChanged(t('meeting.saved', { title: input.title }));
    } catch (err) {
      showError(error, describeError(err, endpointName));
    }
  };
  cancelAll.onclick = async () => {
    if (!meeting || !confirm(t('meeting.cancelAllConfirm', { title: meeting.title }))) return;
    try {
      await withProgress(cancelAll, 'working', () => api.cancelMeeting(meeting.id));
      dialog.close();
      onChanged(t('meeting.cancelled'));
    } catch (err) {
      showError(error, describeError(err, endpointName));
    }
  };
  cancelOne.onclick = async () => {
    if (!meeting || !occurrence) return;
    const when = displayDate(occurrence.local_date);
    if (!confirm(t('meeting.cancelOneConfirm', { title: meeting.title, date: when }))) return;
    try {
      await withProgress(cancelOne, 'working', () => api.cancelOccurrence(meeting.id, occurrence.local_date));
      dialog.close();
      onChanged(t('meeting.cancelled'));
    } catch (err) {
      showError(error, describeError(err, endpointName));
    }
  };

  /** @returns {MeetingInput | string} the request, or what is wrong with the form */
  function readForm() {
    const from = toUnix(date.value, start.value);
    const to = toUnix(date.value, end.value);
    if (!(to > from)) return t('meeting.badTime');
    if (picked.size === 0) return t('meeting.noRoster');
    if (!host.value || !picked.has(host.value)) return t('meeting.noHost');
    /** @type {import('./api.js').Recurrence | null} */
    let recurrence = null;
    if (repeat.value === 'daily' || repeat.value === 'weekly') {
      if (!until.value) return t('meeting.noUntil');
      recurrence = { freq: repeat.value, interval: 1, until: until.value };
      if (repeat.value === 'weekly') {
        // Keep the days an edited series already had, as long as the (new) first day is among them.
        const first = WEEKDAYS[localParts(from).weekday];
        const days = meeting?.recurrence?.weekdays ?? [];
        recurrence.weekdays = days.includes(first) ? days : [first];
      }
    }
    return {
      title: title.value.trim(),
      agenda: agenda.value,
      start: from,
      end: to,
      mode: /** @type {import('./api.js').MeetingMode} */ (mode.value),
      host_endpoint_id: host.value,
      roster: [...picked],
      recurrence,
    };
  }

  dialog.showModal();
  title.focus();
}
