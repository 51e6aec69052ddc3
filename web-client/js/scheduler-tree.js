// The organisation tree of the scheduler: units (collapsible) with their room
// terminals, either to browse (a terminal opens its editor) or to pick a
// roster (a checkbox per terminal, and per unit for everything under it).
// A UI module: it touches the DOM.

import { t } from './i18n.js';
import { setText } from './ui.js';

/**
 * @typedef {import('./api.js').UnitNode} UnitNode
 * @typedef {import('./api.js').Endpoint} Endpoint
 * @typedef {{units: UnitNode[], endpoints: Endpoint[], byUnit: Map<string, Endpoint[]>,
 *   endpointById: Map<string, Endpoint>, unitById: Map<string, UnitNode>}} Registry
 * @typedef {{onOpen?: (e: Endpoint) => void, picked?: Set<string>, onPickChange?: () => void}} TreeOptions
 */

/**
 * @param {UnitNode[]} units the forest
 * @param {Endpoint[]} endpoints
 * @returns {Registry}
 */
export function makeRegistry(units, endpoints) {
  /** @type {Map<string, Endpoint[]>} */
  const byUnit = new Map();
  for (const e of endpoints) {
    const list = byUnit.get(e.unit_id) ?? [];
    list.push(e);
    byUnit.set(e.unit_id, list);
  }
  /** @type {Map<string, UnitNode>} */
  const unitById = new Map();
  const walk = (/** @type {UnitNode[]} */ nodes) => {
    for (const n of nodes) {
      unitById.set(n.id, n);
      walk(n.children);
    }
  };
  walk(units);
  return { units, endpoints, byUnit, endpointById: new Map(endpoints.map((e) => [e.id, e])), unitById };
}

/**
 * @param {Registry} reg
 * @param {UnitNode} unit
 * @returns {string[]} the ids of every terminal in `unit` and below it
 */
export function endpointsUnder(reg, unit) {
  const ids = (reg.byUnit.get(unit.id) ?? []).map((e) => e.id);
  for (const child of unit.children) ids.push(...endpointsUnder(reg, child));
  return ids;
}

/**
 * Draws the tree into `container`, replacing what was there.
 * @param {HTMLElement} container
 * @param {Registry} reg
 * @param {TreeOptions} options with `picked`: checkboxes that edit that set
 */
export function renderTree(container, reg, options) {
  const list = document.createElement('ul');
  list.className = 'tree-level';
  for (const unit of reg.units) list.append(unitItem(reg, unit, 0, options));
  container.replaceChildren(list);
  if (options.picked) syncUnitBoxes(container, reg);
}

/**
 * @param {Registry} reg
 * @param {UnitNode} unit
 * @param {number} depth
 * @param {TreeOptions} options
 * @returns {HTMLLIElement}
 */
function unitItem(reg, unit, depth, options) {
  const li = document.createElement('li');
  li.className = 'tree-unit';
  li.dataset.unitId = unit.id;
  const head = document.createElement('div');
  head.className = 'tree-head';

  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'tree-toggle';
  toggle.title = t('tree.expand');
  const open = depth === 0;
  toggle.setAttribute('aria-expanded', String(open));
  head.append(toggle);

  const total = endpointsUnder(reg, unit).length;
  const name = document.createElement('span');
  name.className = 'tree-unit-name';
  name.textContent = unit.name;
  if (options.picked) {
    const label = document.createElement('label');
    label.className = 'tree-pick-unit';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'unit-box';
    box.dataset.unitId = unit.id;
    box.disabled = total === 0;
    box.title = t('tree.selectUnit', { unit: unit.name });
    box.addEventListener('change', () => {
      const picked = /** @type {Set<string>} */ (options.picked);
      for (const id of endpointsUnder(reg, unit)) {
        if (box.checked) picked.add(id);
        else picked.delete(id);
      }
      const root = /** @type {HTMLElement} */ (li.closest('.tree'));
      for (const el of root.querySelectorAll('input.endpoint-box')) {
        const b = /** @type {HTMLInputElement} */ (el);
        b.checked = picked.has(/** @type {string} */ (b.dataset.endpointId));
      }
      syncUnitBoxes(root, reg);
      options.onPickChange?.();
    });
    label.append(box, name);
    head.append(label);
  } else {
    head.append(name);
  }
  const count = document.createElement('span');
  count.className = 'tree-count';
  count.textContent = String(total);
  head.append(count);
  li.append(head);

  const body = document.createElement('ul');
  body.className = 'tree-level';
  body.hidden = !open;
  for (const e of reg.byUnit.get(unit.id) ?? []) body.append(endpointItem(e, options));
  for (const child of unit.children) body.append(unitItem(reg, child, depth + 1, options));
  if (!body.childElementCount) {
    const none = document.createElement('li');
    none.className = 'tree-none';
    setText(none, 'tree.none');
    body.append(none);
  }
  li.append(body);
  toggle.addEventListener('click', () => {
    body.hidden = !body.hidden;
    toggle.setAttribute('aria-expanded', String(!body.hidden));
  });
  return li;
}

/**
 * @param {Endpoint} e
 * @param {TreeOptions} options
 * @returns {HTMLLIElement}
 */
function endpointItem(e, options) {
  const li = document.createElement('li');
  li.className = 'tree-endpoint';
  li.dataset.endpointId = e.id;
  const name = document.createElement('span');
  name.className = 'endpoint-name';
  name.textContent = e.name;
  const detail = document.createElement('span');
  detail.className = 'endpoint-detail';
  detail.textContent = [e.location, e.bitrate_cap_kbps ? `${e.bitrate_cap_kbps} kbit/s` : '']
    .filter(Boolean)
    .join(' · ');
  if (options.picked) {
    const picked = options.picked;
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'endpoint-box';
    box.dataset.endpointId = e.id;
    box.checked = picked.has(e.id);
    box.addEventListener('change', () => {
      if (box.checked) picked.add(e.id);
      else picked.delete(e.id);
      const root = /** @type {HTMLElement} */ (li.closest('.tree'));
      syncUnitBoxes(root, /** @type {Registry} */ (registryOf.get(root)));
      options.onPickChange?.();
    });
    label.append(box, name);
    li.append(label);
  } else if (options.onOpen) {
    const open = options.onOpen;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'endpoint-open';
    button.append(name, detail);
    button.addEventListener('click', () => open(e));
    li.append(button);
  } else {
    li.append(name, detail);
  }
  if (e.revoked) {
    const badge = document.createElement('span');
    badge.className = 'badge-revoked';
    setText(badge, 'tree.revoked');
    li.append(badge);
  }
  return li;
}

/** The registry a picking tree was drawn from, for its checkboxes. */
const registryOf = new WeakMap();

/**
 * Sets each unit checkbox to checked, unchecked or mixed from the picked terminals.
 * @param {HTMLElement} root
 * @param {Registry} reg
 */
function syncUnitBoxes(root, reg) {
  registryOf.set(root, reg);
  const picked = new Set(
    [...root.querySelectorAll('input.endpoint-box')]
      .filter((b) => /** @type {HTMLInputElement} */ (b).checked)
      .map((b) => /** @type {HTMLElement} */ (b).dataset.endpointId),
  );
  for (const el of root.querySelectorAll('input.unit-box')) {
    const box = /** @type {HTMLInputElement} */ (el);
    const unit = reg.unitById.get(/** @type {string} */ (box.dataset.unitId));
    if (!unit) continue;
    const ids = endpointsUnder(reg, unit);
    const n = ids.filter((id) => picked.has(id)).length;
    box.checked = ids.length > 0 && n === ids.length;
    box.indeterminate = n > 0 && n < ids.length;
  }
}
