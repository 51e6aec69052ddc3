// The room-terminal screen: tiles, roster, status, banners. One of the two
// modules that touch the DOM (with landing.js); it knows nothing of WebRTC
// signaling and is driven by main.js.

import { t, lang, onLangChange, toggleLang } from './i18n.js';

/**
 * @typedef {import('./session.js').Participant} Participant
 * @typedef {import('./session.js').SessionState} SessionState
 * @typedef {{participantId: string, name: string, isSelf: boolean}} RosterEntry
 */

/**
 * Translates every element under `root` that names a string: `data-i18n`
 * (text, with optional JSON `data-i18n-params`), `data-i18n-title`,
 * `data-i18n-placeholder`.
 * @param {ParentNode} [root]
 */
export function applyTranslations(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const h = /** @type {HTMLElement} */ (el);
    const params = h.dataset.i18nParams ? JSON.parse(h.dataset.i18nParams) : {};
    h.textContent = t(/** @type {string} */ (h.dataset.i18n), params);
  }
  for (const el of root.querySelectorAll('[data-i18n-title]')) {
    const h = /** @type {HTMLElement} */ (el);
    h.title = t(/** @type {string} */ (h.dataset.i18nTitle));
  }
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) {
    const h = /** @type {HTMLInputElement} */ (el);
    h.placeholder = t(/** @type {string} */ (h.dataset.i18nPlaceholder));
  }
}

/**
 * Sets an element's string by key, so that a language switch re-renders it.
 * @param {HTMLElement} el
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function setText(el, key, params) {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params);
}

/** Wires the language button (`#lang-switch`) and keeps the page translated. */
export function setupLanguageSwitch() {
  applyTranslations();
  document.getElementById('lang-switch')?.addEventListener('click', () => toggleLang());
  onLangChange(() => applyTranslations());
}

/**
 * @param {string} name
 * @returns {string} up to two initials for a tile without video
 */
function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const picked = words.length > 2 ? [words[words.length - 2], words[words.length - 1]] : words;
  return picked.map((w) => w[0]?.toUpperCase() ?? '').join('') || '?';
}

/**
 * The 16:9 tile size and column count that show `n` tiles largest in a
 * `width` × `height` box.
 * @param {number} n
 * @param {number} width
 * @param {number} height
 * @param {number} gap
 * @returns {{cols: number, tileWidth: number, tileHeight: number}}
 */
export function fitTiles(n, width, height, gap) {
  let best = { cols: 1, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= Math.max(n, 1); cols++) {
    const rows = Math.ceil(Math.max(n, 1) / cols);
    let w = (width - gap * (cols - 1)) / cols;
    let h = (height - gap * (rows - 1)) / rows;
    if (w / h > 16 / 9) w = (h * 16) / 9;
    else h = (w * 9) / 16;
    if (w * h > best.tileWidth * best.tileHeight) best = { cols, tileWidth: w, tileHeight: h };
  }
  return { cols: best.cols, tileWidth: Math.floor(best.tileWidth), tileHeight: Math.floor(best.tileHeight) };
}

/** The room-terminal page, over the elements of join.html. */
export class RoomView extends EventTarget {
  /** @type {Map<string, HTMLElement>} participant id → tile */
  #tiles = new Map();
  /** @type {Map<string, MediaStream>} streams that arrived before their participant */
  #pendingStreams = new Map();
  /** @type {SessionState} */
  #state = 'connecting';

  constructor() {
    super();
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
    this.grid = $('grid');
    this.stageMessage = $('stage-message');
    this.status = $('status');
    this.statusText = $('status-text');
    this.rosterList = $('roster-list');
    this.rosterCount = $('roster-count');
    this.roomName = $('room-name');
    this.errorBanner = $('error-banner');
    this.errorText = $('error-text');
    this.warningBanner = $('warning-banner');
    this.warningText = $('warning-text');
    this.selfView = $('self-view');
    this.selfVideo = /** @type {HTMLVideoElement} */ ($('self-video'));
    this.soundOverlay = $('sound-overlay');
    this.leftOverlay = $('left-overlay');
    this.tileTemplate = /** @type {HTMLTemplateElement} */ ($('tile-template'));

    setupLanguageSwitch();
    $('leave').addEventListener('click', () => this.dispatchEvent(new Event('leave')));
    $('rejoin').addEventListener('click', () => this.dispatchEvent(new Event('rejoin')));
    $('warning-close').addEventListener('click', () => (this.warningBanner.hidden = true));
    $('sound-enable').addEventListener('click', () => this.#enableSound());
    new ResizeObserver(() => this.#layout()).observe(this.grid);
    this.#refresh();
  }

  /** @param {SessionState} state */
  setState(state) {
    this.#state = state;
    this.status.dataset.state = state;
    setText(this.statusText, `status.${state}`);
    if (state === 'connected') this.hideError();
    if (state === 'closed') {
      this.leftOverlay.hidden = false;
      this.soundOverlay.hidden = true;
    }
    /** @type {HTMLButtonElement} */ (document.getElementById('leave')).disabled =
      state === 'closed' || state === 'failed';
    this.#refresh();
  }

  /** @param {string} room */
  setRoom(room) {
    this.roomName.hidden = !room;
    setText(this.roomName, 'room', { room });
  }

  /**
   * Shows the error banner. Known codes have their own message.
   * @param {string} code
   * @param {string} [message] the server's detail, for unknown codes
   */
  showError(code, message = '') {
    const key = `error.${code}`;
    this.errorBanner.dataset.code = code;
    if (t(key) !== key) setText(this.errorText, key);
    else setText(this.errorText, 'error.server', { code, message });
    this.errorBanner.hidden = false;
  }

  hideError() {
    this.errorBanner.hidden = true;
    delete this.errorBanner.dataset.code;
  }

  /** @param {string} code */
  showWarning(code) {
    this.warningBanner.dataset.code = code;
    setText(this.warningText, `warning.${code}`);
    this.warningBanner.hidden = false;
  }

  /** @param {MediaStream | null} stream our own camera, shown small and muted */
  setLocalStream(stream) {
    this.selfVideo.srcObject = stream;
    this.selfView.hidden = !stream || stream.getVideoTracks().length === 0;
    if (stream) this.selfVideo.play().catch(() => {}); // muted: autoplay is always allowed
  }

  /** @param {Participant} p */
  upsertParticipant(p) {
    this.#upsertRosterEntry(p);
    if (p.isSelf) return;
    let tile = this.#tiles.get(p.participantId);
    if (!tile) {
      const fragment = /** @type {DocumentFragment} */ (this.tileTemplate.content.cloneNode(true));
      tile = /** @type {HTMLElement} */ (fragment.firstElementChild);
      tile.dataset.participantId = p.participantId;
      applyTranslations(tile);
      this.#tiles.set(p.participantId, tile);
      this.grid.append(tile);
      const pending = this.#pendingStreams.get(p.participantId);
      this.#pendingStreams.delete(p.participantId);
      if (pending) this.setStream(p.participantId, pending);
    }
    /** @type {HTMLElement} */ (tile.querySelector('.tile-name')).textContent = p.name;
    /** @type {HTMLElement} */ (tile.querySelector('.tile-initials')).textContent = initials(p.name);
    this.#refresh();
  }

  /** @param {string} participantId */
  removeParticipant(participantId) {
    this.#pendingStreams.delete(participantId);
    this.rosterList.querySelector(`li[data-participant-id="${CSS.escape(participantId)}"]`)?.remove();
    const tile = this.#tiles.get(participantId);
    if (tile) {
      const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
      video.srcObject = null;
      tile.remove();
      this.#tiles.delete(participantId);
    }
    this.#refresh();
  }

  /**
   * Shows a participant's remote media on its tile (video and sound).
   * @param {string} participantId
   * @param {MediaStream} stream
   */
  setStream(participantId, stream) {
    const tile = this.#tiles.get(participantId);
    if (!tile) {
      this.#pendingStreams.set(participantId, stream);
      return;
    }
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    if (video.srcObject !== stream) video.srcObject = stream;
    tile.dataset.hasVideo = String(stream.getVideoTracks().length > 0);
    if (video.paused) this.#play(video);
  }

  /**
   * Empties the view for the next call (the kiosk reuses one view for every
   * meeting): no tiles, no roster, no banners or overlays.
   */
  reset() {
    for (const id of [...this.#tiles.keys()]) this.removeParticipant(id);
    this.#pendingStreams.clear();
    this.rosterList.replaceChildren();
    this.setLocalStream(null);
    this.roomName.hidden = true;
    this.hideError();
    this.warningBanner.hidden = true;
    this.soundOverlay.hidden = true;
    this.leftOverlay.hidden = true;
    this.#state = 'connecting';
    this.status.dataset.state = 'connecting';
    setText(this.statusText, 'status.connecting');
    this.#refresh();
  }

  /** @returns {RosterEntry[]} the participants listed, ourselves included */
  roster() {
    return [...this.rosterList.querySelectorAll('li')].map((li) => {
      const h = /** @type {HTMLElement} */ (li);
      return {
        participantId: h.dataset.participantId ?? '',
        name: h.querySelector('.roster-name')?.textContent ?? '',
        isSelf: h.dataset.self === 'true',
      };
    });
  }

  /** @param {Participant} p */
  #upsertRosterEntry(p) {
    const sel = `li[data-participant-id="${CSS.escape(p.participantId)}"]`;
    let li = /** @type {HTMLElement | null} */ (this.rosterList.querySelector(sel));
    if (!li) {
      li = document.createElement('li');
      li.dataset.participantId = p.participantId;
      li.dataset.self = String(p.isSelf);
      const name = document.createElement('span');
      name.className = 'roster-name';
      li.append(name);
      if (p.isSelf) {
        const you = document.createElement('span');
        you.className = 'roster-you';
        setText(you, 'roster.you');
        li.append(you);
        this.rosterList.prepend(li);
      } else {
        this.rosterList.append(li);
      }
    }
    /** @type {HTMLElement} */ (li.querySelector('.roster-name')).textContent = p.name;
    const kinds = new Set(p.tracks.values());
    li.dataset.audio = String(kinds.has('audio'));
    li.dataset.video = String(kinds.has('video'));
  }

  /** @param {HTMLVideoElement} video */
  #play(video) {
    video.play().catch((err) => {
      if (err?.name !== 'NotAllowedError') return;
      // The browser refuses sound without a user gesture: show the picture muted
      // meanwhile, and ask for the one click that turns the sound on.
      video.muted = true;
      video.play().catch(() => {});
      this.soundOverlay.hidden = this.#state === 'closed';
    });
  }

  #enableSound() {
    this.soundOverlay.hidden = true;
    for (const tile of this.#tiles.values()) {
      const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
      video.muted = false;
      video.play().catch(() => {});
    }
  }

  /** Sizes the tiles to fill the grid's box (the box itself is sized by CSS). */
  #layout() {
    const gap = parseFloat(getComputedStyle(this.grid).columnGap) || 0;
    const { cols, tileWidth, tileHeight } = fitTiles(
      this.#tiles.size,
      this.grid.clientWidth,
      this.grid.clientHeight,
      gap,
    );
    this.grid.style.setProperty('--cols', String(cols));
    this.grid.style.setProperty('--tile-w', `${tileWidth}px`);
    this.grid.style.setProperty('--tile-h', `${tileHeight}px`);
  }

  /** Grid shape, stage message and roster count after any change. */
  #refresh() {
    const n = this.#tiles.size;
    this.grid.dataset.count = String(n);
    this.#layout();
    setText(this.rosterCount, 'roster.count', { n: this.rosterList.childElementCount });

    /** @type {string | null} */
    let message = null;
    if (n === 0) {
      if (this.#state === 'connected') message = 'empty';
      else if (this.#state !== 'closed') message = `status.${this.#state}`;
    }
    this.stageMessage.hidden = message === null;
    if (message) setText(this.stageMessage, message);
  }
}
