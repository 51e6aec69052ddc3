// Entry point of join.html: reads the token from the URL fragment, joins, and
// connects the session's events to the view. Also exposes `window.hoinghi`
// for end-to-end tests and for the technician's browser console.
//
// URL fragment parameters (never sent to the server in the request line):
//   token=JWT    the join token (required; a bare `#JWT` works too)
//   codec=h264   publish video in H.264 (constrained baseline), for rooms whose
//   codec=vp8    hardware prefers it, or in VP8; without `codec` the browser
//                picks (Chromium: VP8). Falls back to the default, with a
//                console warning, if the browser lacks the codec.
// e.g. /join#token=eyJ...&codec=h264

import { joinCall } from './call.js';
import { RoomView } from './ui.js';
import { parseVideoCodec } from './codecs.js';

/**
 * The join token from `#token=JWT` (also accepts a bare `#JWT`).
 * @param {string} hash `location.hash`
 * @returns {string | null}
 */
export function tokenFromHash(hash) {
  const fragment = hash.replace(/^#/, '');
  if (!fragment) return null;
  const token = new URLSearchParams(fragment).get('token');
  if (token) return token.trim();
  return fragment.includes('=') ? null : decodeURIComponent(fragment).trim();
}

/**
 * The preferred video codec from `#…&codec=vp8|h264`; null (the browser's
 * default) if absent or unknown.
 * @param {string} hash `location.hash`
 * @returns {import('./codecs.js').VideoCodecName | null}
 */
export function videoCodecFromHash(hash) {
  const value = new URLSearchParams(hash.replace(/^#/, '')).get('codec');
  if (value === null || value === '') return null;
  const codec = parseVideoCodec(value);
  if (!codec) console.warn(`hoinghi: unknown codec "${value}" in the link (vp8 or h264); using the default`);
  return codec;
}

function main() {
  const view = new RoomView();
  const token = tokenFromHash(location.hash);

  /** @type {import('./session.js').Session | null} */
  let session = null;
  /** @type {any} */ (window).hoinghi = {
    get session() {
      return session;
    },
    stats: async () => (session ? session.stats() : { inbound: [], outbound: [] }),
    roster: () => view.roster(),
  };

  if (!token) {
    view.setState('failed');
    view.showError('missing_token');
    return;
  }

  session = joinCall(view, { token, videoCodec: videoCodecFromHash(location.hash) });
  view.addEventListener('rejoin', () => location.reload());
  // A kiosk that is switched off or navigated away says goodbye.
  window.addEventListener('pagehide', () => session?.leave());
  // A new link pasted into the address bar joins with the new token.
  window.addEventListener('hashchange', () => location.reload());
}

main();
