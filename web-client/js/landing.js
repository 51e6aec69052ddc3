// The landing page (index.html): explains how a room terminal joins and turns
// a pasted token or link into /join#token=…. Touches the DOM (a UI module).

import { setupLanguageSwitch, setText } from './ui.js';

/**
 * Extracts a join token from what the user pasted: a bare JWT, `#token=…`,
 * or a whole `https://host/join#token=…` link.
 * @param {string} input
 * @returns {string | null}
 */
export function tokenFromInput(input) {
  const text = input.trim();
  if (!text) return null;
  const hashAt = text.indexOf('#');
  const fragment = hashAt >= 0 ? text.slice(hashAt + 1) : text;
  const fromParam = new URLSearchParams(fragment).get('token');
  if (fromParam) return fromParam.trim();
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(fragment) ? fragment : null;
}

function main() {
  setupLanguageSwitch();
  const form = /** @type {HTMLFormElement} */ (document.getElementById('join-form'));
  const input = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
  const hint = /** @type {HTMLElement} */ (document.getElementById('join-hint'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = tokenFromInput(input.value);
    if (!token) {
      setText(hint, input.value.trim() ? 'error.invalid_token' : 'landing.empty');
      hint.hidden = false;
      input.focus();
      return;
    }
    location.assign(`/join#token=${encodeURIComponent(token)}`);
  });
}

main();
