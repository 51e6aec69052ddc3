// Adding and editing a room terminal, and showing its device credential the
// one time the server hands it out. A UI module: it touches the DOM.

import { t } from './i18n.js';
import * as api from './api.js';
import { describeError, showError, withProgress } from './staff-feedback.js';

/**
 * @typedef {import('./api.js').Endpoint} Endpoint
 * @typedef {import('./scheduler-tree.js').Registry} Registry
 */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Opens the terminal editor: a new terminal when `endpoint` is absent.
 * @param {Registry} reg
 * @param {Endpoint | null} endpoint
 * @param {() => void} onSaved the registry changed
 */
export function openTerminalDialog(reg, endpoint, onSaved) {
  const dialog = /** @type {HTMLDialogElement} */ ($('terminal-dialog'));
  const form = /** @type {HTMLFormElement} */ ($('terminal-form'));
  const name = /** @type {HTMLInputElement} */ ($('terminal-name'));
  const unit = /** @type {HTMLSelectElement} */ ($('terminal-unit'));
  const location = /** @type {HTMLInputElement} */ ($('terminal-location'));
  const bitrate = /** @type {HTMLInputElement} */ ($('terminal-bitrate'));
  const error = $('terminal-error');
  const rotate = /** @type {HTMLButtonElement} */ ($('terminal-rotate'));
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));

  $('terminal-heading').textContent = t(endpoint ? 'terminal.edit' : 'terminal.new');
  unit.replaceChildren();
  const addUnits = (/** @type {import('./api.js').UnitNode[]} */ nodes, /** @type {number} */ depth) => {
    for (const n of nodes) {
      unit.append(new Option(`${'\u00a0\u00a0'.repeat(depth)}${n.name}`, n.id));
      addUnits(n.children, depth + 1);
    }
  };
  addUnits(reg.units, 0);
  name.value = endpoint?.name ?? '';
  unit.value = endpoint?.unit_id ?? reg.units[0]?.id ?? '';
  location.value = endpoint?.location ?? '';
  bitrate.value = endpoint?.bitrate_cap_kbps ? String(endpoint.bitrate_cap_kbps) : '';
  showError(error, '');
  rotate.hidden = !endpoint;

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const cap = bitrate.value.trim() ? Number(bitrate.value) : null;
    const input = { unit_id: unit.value, name: name.value.trim(), location: location.value.trim(), bitrate_cap_kbps: cap };
    try {
      await withProgress(submit, 'saving', async () => {
        if (endpoint) {
          await api.updateEndpoint(endpoint.id, input);
          dialog.close();
        } else {
          const created = await api.createEndpoint(input);
          dialog.close();
          showCredential(created);
        }
      });
      onSaved();
    } catch (err) {
      showError(error, describeError(err));
    }
  };
  rotate.onclick = async () => {
    if (!endpoint || !confirm(t('terminal.rotateConfirm', { name: endpoint.name }))) return;
    try {
      const rotated = await withProgress(rotate, 'working', () => api.rotateCredential(endpoint.id));
      dialog.close();
      showCredential(rotated);
      onSaved();
    } catch (err) {
      showError(error, describeError(err));
    }
  };
  dialog.showModal();
  name.focus();
}

/**
 * Shows a credential once; closing the dialog forgets it.
 * @param {import('./api.js').EndpointWithCredential} answer
 */
function showCredential(answer) {
  const dialog = /** @type {HTMLDialogElement} */ ($('credential-dialog'));
  const value = /** @type {HTMLInputElement} */ ($('credential-value'));
  const copy = /** @type {HTMLButtonElement} */ ($('credential-copy'));
  $('credential-heading').textContent = t('credential.heading', { name: answer.endpoint.name });
  value.value = answer.credential;
  copy.textContent = t('credential.copy');
  copy.onclick = async () => {
    value.select();
    try {
      await navigator.clipboard.writeText(answer.credential);
    } catch {
      document.execCommand('copy'); // plain http: no Clipboard API, the selection still copies
    }
    copy.textContent = t('credential.copied');
  };
  $('credential-done').onclick = () => dialog.close();
  dialog.onclose = () => {
    value.value = '';
  };
  dialog.showModal();
  value.select();
}
