// Entry point of kiosk.html, the room terminal's unattended screen. Keeps the
// device credential in localStorage (set once from the setup form or from
// `/kiosk#credential=hnd_…`), follows the terminal's schedule (kiosk.js), and
// joins and leaves the call (call.js + ui.js) when it says so. Exposes
// `window.hoinghi` like join.html does, plus the kiosk's state.

import { RoomView } from './ui.js';
import { joinCall } from './call.js';
import { DeviceClient } from './device.js';
import { Kiosk } from './kiosk.js';
import { KioskView } from './kiosk-view.js';

const CREDENTIAL_KEY = 'hoinghi.kiosk.credential';

/**
 * @template T
 * @param {Event} ev
 * @returns {T}
 */
function detail(ev) {
  return /** @type {CustomEvent<T>} */ (ev).detail;
}

/** @returns {string | null} */
function storedCredential() {
  try {
    return localStorage.getItem(CREDENTIAL_KEY);
  } catch {
    return null;
  }
}

/** @param {string | null} credential null forgets it */
function storeCredential(credential) {
  try {
    if (credential) localStorage.setItem(CREDENTIAL_KEY, credential);
    else localStorage.removeItem(CREDENTIAL_KEY);
  } catch {
    // storage disabled: the kiosk works until the page is reloaded
  }
}

/**
 * Takes `#credential=…` out of the address once it is stored, so that it is
 * not left on screen, in the history, or in a bookmark.
 * @returns {string | null}
 */
function credentialFromHash() {
  const credential = new URLSearchParams(location.hash.replace(/^#/, '')).get('credential')?.trim();
  if (!credential) return null;
  history.replaceState(null, '', location.pathname + location.search);
  return credential;
}

function main() {
  const room = new RoomView(); // first: it wires the language switch for the whole page
  const view = new KioskView();

  /** @type {Kiosk | null} */
  let kiosk = null;
  /** @type {import('./session.js').Session | null} */
  let session = null;

  /** @type {any} */ (window).hoinghi = {
    get session() {
      return session;
    },
    get kiosk() {
      return kiosk;
    },
    /** @returns {string} `setup`, or the kiosk's phase */
    phase: () => (view.screen === 'setup' ? 'setup' : (document.body.dataset.phase ?? 'starting')),
    stats: async () => (session ? session.stats() : { inbound: [], outbound: [] }),
    roster: () => room.roster(),
  };

  const leaveCall = () => {
    session?.leave();
    session = null;
    room.reset();
  };

  /** @param {string} credential */
  const run = (credential) => {
    kiosk?.stop();
    leaveCall();
    const client = new DeviceClient(credential);
    const k = new Kiosk(client);
    kiosk = k;
    view.show('waiting');
    k.addEventListener('update', (ev) => {
      view.selfId = client.endpoint?.id ?? null;
      view.setTerminal(client.endpoint?.name ?? null);
      const update = detail(ev);
      // A call that failed for good, with no new token to replace it: back to the clock.
      if (update.grant === null && view.screen === 'call') {
        leaveCall();
        view.show('waiting');
      }
      view.render(update);
    });
    k.addEventListener('join', (ev) => {
      const { grant } = detail(ev);
      leaveCall();
      view.show('call');
      const s = joinCall(room, { token: grant.token });
      session = s;
      s.addEventListener('state', (e) => {
        // Failed for good (token refused, say): a new token and a new try, while the window lasts.
        if (detail(e).state === 'failed' && session === s) k.callFailed();
      });
    });
    k.addEventListener('leave', () => {
      leaveCall();
      view.show('waiting');
    });
    k.addEventListener('unauthorized', () => {
      leaveCall();
      storeCredential(null);
      view.setTerminal(null);
      view.show('setup');
      view.showSetupError('kiosk.refused');
    });
    k.start();
  };

  view.addEventListener('credential', (ev) => {
    const { credential } = detail(ev);
    storeCredential(credential);
    run(credential);
  });
  view.addEventListener('reset', () => {
    kiosk?.stop();
    kiosk = null;
    leaveCall();
    storeCredential(null);
    view.setTerminal(null);
    view.show('setup');
  });
  // The room's own leave button is hidden, but a technician's console may use it.
  room.addEventListener('rejoin', () => kiosk?.refresh());
  // A kiosk that is switched off or navigated away says goodbye.
  window.addEventListener('pagehide', () => session?.leave());

  const fromHash = credentialFromHash();
  if (fromHash) storeCredential(fromHash);
  const credential = fromHash ?? storedCredential();
  if (credential) run(credential);
  else view.show('setup');
}

main();
