// Joins a call: a Session (the protocol, no DOM) wired to a RoomView (the
// DOM). Shared by join.html (one call per page) and the kiosk (one call per
// meeting occurrence, the same view reused).

import { Session } from './session.js';

/**
 * @typedef {import('./ui.js').RoomView} RoomView
 * @typedef {import('./codecs.js').VideoCodecName} VideoCodecName
 */

/**
 * @template T
 * @param {Event} ev
 * @returns {T}
 */
function detail(ev) {
  return /** @type {CustomEvent<T>} */ (ev).detail;
}

/**
 * Starts a session with `token` and shows it in `view`. The caller ends it
 * with `session.leave()`; the view's own `leave` button does too.
 * @param {RoomView} view
 * @param {{token: string, videoCodec?: VideoCodecName | null}} options
 * @returns {Session} the started session
 */
export function joinCall(view, { token, videoCodec = null }) {
  const session = new Session({ token, videoCodec });
  session.addEventListener('state', (ev) => view.setState(detail(ev).state));
  session.addEventListener('joined', (ev) => view.setRoom(detail(ev).room ?? ''));
  session.addEventListener('participantadded', (ev) => view.upsertParticipant(detail(ev).participant));
  session.addEventListener('participantupdated', (ev) => view.upsertParticipant(detail(ev).participant));
  session.addEventListener('participantremoved', (ev) => view.removeParticipant(detail(ev).participantId));
  session.addEventListener('stream', (ev) => {
    const { participantId, stream } = detail(ev);
    view.setStream(participantId, stream);
  });
  session.addEventListener('localstream', (ev) => view.setLocalStream(detail(ev).stream));
  session.addEventListener('warning', (ev) => view.showWarning(detail(ev).code));
  session.addEventListener('error', (ev) => {
    const { code, message } = detail(ev);
    view.showError(code, message);
  });
  const onLeave = () => session.leave();
  view.addEventListener('leave', onLeave);
  session.addEventListener('state', (ev) => {
    const { state } = detail(ev);
    if (state === 'closed' || state === 'failed') view.removeEventListener('leave', onLeave);
  });
  session.start();
  return session;
}
