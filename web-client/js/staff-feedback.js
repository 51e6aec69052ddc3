// How the staff pages (scheduler, board) tell staff what is happening: buttons that show progress
// while a request runs, and API errors put into words (a double booking names
// the meeting and the room). A UI module: it touches the DOM.

import { t } from './i18n.js';
import { ApiError } from './api.js';

/**
 * Runs `work` with the button's form (or the button alone) disabled and the
 * button saying `busyKey` next to a spinner; restores both afterwards.
 * @template T
 * @param {HTMLButtonElement} button
 * @param {string} busyKey
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function withProgress(button, busyKey, work) {
  const scope = button.closest('form, dialog') ?? button;
  const controls = /** @type {(HTMLButtonElement | HTMLInputElement)[]} */ ([
    ...(scope === button ? [button] : scope.querySelectorAll('button, input, select, textarea')),
  ]).filter((c) => !c.disabled);
  const label = button.innerHTML;
  for (const c of controls) c.disabled = true;
  button.classList.add('busy');
  button.setAttribute('aria-busy', 'true');
  const spinner = document.createElement('span');
  spinner.className = 'spinner';
  spinner.setAttribute('aria-hidden', 'true');
  button.replaceChildren(spinner, document.createTextNode(t(busyKey)));
  try {
    return await work();
  } finally {
    button.innerHTML = label;
    button.classList.remove('busy');
    button.removeAttribute('aria-busy');
    for (const c of controls) c.disabled = false;
  }
}

/**
 * @param {unknown} err
 * @param {(id: string) => string} [endpointName] names a terminal for the double-booking message
 * @returns {string} what went wrong, for people
 */
export function describeError(err, endpointName = (id) => id) {
  if (!(err instanceof ApiError)) return t('error.generic', { code: 'client', message: String(err) });
  if (err.code === 'network') return t('error.network');
  if (err.status === 401) return t('login.expired');
  if (err.status === 403) return t('error.forbidden');
  if (err.status === 409 && err.conflicts.length) {
    const lines = err.conflicts.slice(0, 5).map((c) =>
      t('error.conflict', { endpoint: endpointName(c.endpoint_id), title: c.title, time: c.occurrence_start_local }),
    );
    if (err.conflicts.length > 5) lines.push(`… (+${err.conflicts.length - 5})`);
    return lines.join('\n');
  }
  return t('error.generic', { code: err.code, message: err.message });
}

/**
 * Shows `text` in an error paragraph, or hides it when `text` is empty.
 * @param {HTMLElement} el
 * @param {string} text
 */
export function showError(el, text) {
  el.textContent = text;
  el.hidden = !text;
  if (text) el.scrollIntoView({ block: 'nearest' });
}
