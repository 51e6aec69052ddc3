// Video codec preference for publishing. The SFU forwards RTP without
// decoding, so whatever codec a room publishes in is what every other room
// decodes: VP8 or H.264 (constrained baseline, packetization-mode 1), see
// docs/protocol.md. Pure functions, no DOM and no WebRTC objects, so that
// they can be tested anywhere.

/** @typedef {'vp8' | 'h264'} VideoCodecName */

/** The codecs a client may ask for, by their short name. */
export const VIDEO_CODECS = Object.freeze(/** @type {const} */ ({ vp8: 'video/VP8', h264: 'video/H264' }));

/**
 * The short codec name from user input (`vp8`, `H264`, …), or null if it names none we know.
 * @param {string | null | undefined} value
 * @returns {VideoCodecName | null}
 */
export function parseVideoCodec(value) {
  const v = (value ?? '').trim().toLowerCase();
  return v === 'vp8' || v === 'h264' ? v : null;
}

/**
 * The value of one `a=fmtp` parameter (`sdpFmtpLine` is `k=v;k=v`), lowercased.
 * @param {string | undefined} fmtp
 * @param {string} key
 * @returns {string | null}
 */
function fmtpParam(fmtp, key) {
  for (const part of (fmtp ?? '').split(';')) {
    const [k, v] = part.split('=');
    if (k?.trim().toLowerCase() === key) return (v ?? '').trim().toLowerCase();
  }
  return null;
}

/**
 * How good an H.264 entry is for us, lower is better: what the server and every
 * room terminal handle is constrained baseline in packetization-mode 1.
 * @param {{sdpFmtpLine?: string}} c
 */
function h264Rank(c) {
  const mode1 = fmtpParam(c.sdpFmtpLine, 'packetization-mode') === '1';
  const profile = fmtpParam(c.sdpFmtpLine, 'profile-level-id');
  const baseline = profile === '42e01f' ? 0 : profile === '42001f' ? 1 : 2;
  return (mode1 ? 0 : 3) + baseline;
}

/**
 * Puts the entries of `preferred` first (for H.264 the constrained-baseline,
 * packetization-mode 1 ones first among them); every other entry, RTX, RED and
 * ULPFEC included, follows in the order the browser gave. The input is not changed.
 * @template {{mimeType: string, sdpFmtpLine?: string}} C
 * @param {readonly C[]} codecs e.g. `RTCRtpSender.getCapabilities('video').codecs`
 * @param {VideoCodecName} preferred
 * @returns {C[] | null} null if `codecs` has no entry of that codec
 */
export function preferVideoCodec(codecs, preferred) {
  const mime = VIDEO_CODECS[preferred].toLowerCase();
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === mime);
  if (first.length === 0) return null;
  if (preferred === 'h264') {
    // Array.prototype.sort is stable: equal ranks keep the browser's order.
    first.sort((a, b) => h264Rank(a) - h264Rank(b));
  }
  return [...first, ...codecs.filter((c) => c.mimeType.toLowerCase() !== mime)];
}
