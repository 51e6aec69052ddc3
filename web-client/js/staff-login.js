// Logging staff into a staff page (scheduler, operator board): the login card
// built into the page's empty `<main id="login-view">`, the top bar's name and
// logout button, and the way back to the form when the session ends. A UI
// module: it touches the DOM and drives api.js.

import './staff-strings.js';
import { setText, applyTranslations } from './ui.js';
import * as api from './api.js';
import { describeError, showError, withProgress } from './staff-feedback.js';

/** @typedef {import('./api.js').StaffSession} StaffSession */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** The login card, the same on every staff page. */
const LOGIN_CARD = `
<form id="login-form" class="card login-card" novalidate>
  <h1 data-i18n="login.heading"></h1>
  <label for="login-username" data-i18n="login.username"></label>
  <input id="login-username" name="username" autocomplete="username" spellcheck="false" required>
  <label for="login-password" data-i18n="login.password"></label>
  <input id="login-password" name="password" type="password" autocomplete="current-password" required>
  <p id="login-error" class="form-error" role="alert" hidden></p>
  <button type="submit" class="btn btn-primary" data-i18n="login.submit"></button>
</form>`;

/**
 * Wires the page's login: `#login-view` (empty, filled here), `#app-view`,
 * `#logout`, `#who` and `#notice`. Shows the page's app view for a stored
 * session whose role is in `roles`, else the login form.
 * @param {object} o
 * @param {ReadonlyArray<StaffSession['role']>} o.roles who may use the page
 * @param {(session: StaffSession) => void | Promise<void>} o.onEnter the app view is shown: load it
 * @param {() => void} o.onLeave the login form is shown (logout, expiry): stop what runs
 * @returns {{showLogin: (messageKey?: string) => void}}
 */
export function setupStaffLogin({ roles, onEnter, onLeave }) {
  const view = $('login-view');
  view.innerHTML = LOGIN_CARD;
  applyTranslations(view);

  /** @param {string} [messageKey] why the form is shown, if not a plain start */
  function showLogin(messageKey = '') {
    onLeave();
    $('app-view').hidden = true;
    view.hidden = false;
    $('logout').hidden = true;
    $('who').hidden = true;
    $('notice').hidden = true;
    for (const d of document.querySelectorAll('dialog[open]')) /** @type {HTMLDialogElement} */ (d).close();
    const error = $('login-error');
    if (messageKey) setText(error, messageKey);
    error.hidden = !messageKey;
    /** @type {HTMLInputElement} */ ($('login-password')).value = '';
    $('login-username').focus();
  }

  async function enter() {
    const s = api.session();
    if (!s) return showLogin();
    if (!roles.includes(s.role)) {
      api.clearSession();
      return showLogin('login.role');
    }
    view.hidden = true;
    $('app-view').hidden = false;
    $('logout').hidden = false;
    $('who').hidden = false;
    $('who').textContent = s.display_name;
    await onEnter(s);
  }

  api.onUnauthorized(() => showLogin('login.expired'));
  const form = /** @type {HTMLFormElement} */ ($('login-form'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const username = /** @type {HTMLInputElement} */ ($('login-username')).value.trim();
    const password = /** @type {HTMLInputElement} */ ($('login-password')).value;
    const error = $('login-error');
    if (!username || !password) return setText(error, 'login.empty'), void (error.hidden = false);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    try {
      await withProgress(button, 'login.busy', () => api.login(username, password));
      error.hidden = true;
    } catch (err) {
      const e = /** @type {api.ApiError} */ (err);
      if (e.status === 401) setText(error, 'login.wrong');
      else if (e.status === 429) setText(error, 'login.locked');
      else showError(error, describeError(err));
      error.hidden = false;
      return;
    }
    await enter();
  });
  $('logout').addEventListener('click', () => {
    api.clearSession();
    showLogin();
  });
  if (api.session()) void enter();
  else showLogin();
  return { showLogin };
}
