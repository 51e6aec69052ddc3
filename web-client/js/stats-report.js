// The receive-side view an operator needs (docs/protocol.md, `stats`): what
// this terminal's browser measures, turned from getStats() reports into the
// `stats` message the server merges with its own figures. No DOM, no timers:
// session.js calls statsReport() every REPORT_INTERVAL_MS.

/** How often a joined client reports (the server ignores reports closer than 1 s). */
export const REPORT_INTERVAL_MS = 5_000;

/** The server accepts at most this many entries per list. */
export const MAX_ENTRIES = 100;

/**
 * @typedef {{participant_id: string, track_id: string, kind: string,
 *   packets_received: number | null, packets_lost: number | null, jitter_ms: number | null,
 *   frames_decoded: number | null, frames_per_second: number | null, freeze_count: number | null,
 *   total_freezes_duration_ms: number | null, audio_level: number | null, nack_count: number | null}} InboundReport
 * @typedef {{kind: string, packets_sent: number | null, bytes_sent: number | null,
 *   round_trip_time_ms: number | null, frames_per_second: number | null, audio_level: number | null}} OutboundReport
 * @typedef {{type: 'stats', inbound: InboundReport[], outbound: OutboundReport[]}} StatsMessage
 * @typedef {{forEach: (fn: (s: any) => void) => void, get: (id: string) => any}} StatsLike
 *   an RTCStatsReport, or a Map of plain stats objects in tests
 */

/**
 * @param {unknown} v
 * @returns {number | null} `v` if it is a finite number, else null (the browser had none)
 */
function num(v) {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * @param {unknown} seconds
 * @returns {number | null} in milliseconds
 */
function ms(seconds) {
  const s = num(seconds);
  return s === null ? null : s * 1000;
}

/**
 * Builds the `stats` message from the two connections' reports.
 * @param {StatsLike | null} subscriber the subscriber connection's getStats()
 * @param {StatsLike | null} publisher the publisher connection's getStats()
 * @param {(trackId: string) => string | null} ownerOf the participant who publishes a received track
 * @returns {StatsMessage}
 */
export function statsReport(subscriber, publisher, ownerOf) {
  /** @type {InboundReport[]} */
  const inbound = [];
  subscriber?.forEach((s) => {
    if (s.type !== 'inbound-rtp' || inbound.length >= MAX_ENTRIES) return;
    const trackId = typeof s.trackIdentifier === 'string' ? s.trackIdentifier : '';
    const participantId = trackId ? ownerOf(trackId) : null;
    // A stream nobody owns (a track that was never announced) is no room's figure.
    if (!participantId) return;
    inbound.push({
      participant_id: participantId,
      track_id: trackId,
      kind: s.kind,
      packets_received: num(s.packetsReceived),
      packets_lost: num(s.packetsLost),
      jitter_ms: ms(s.jitter),
      frames_decoded: num(s.framesDecoded),
      frames_per_second: num(s.framesPerSecond),
      freeze_count: num(s.freezeCount),
      total_freezes_duration_ms: ms(s.totalFreezesDuration),
      audio_level: num(s.audioLevel),
      nack_count: num(s.nackCount),
    });
  });

  /** @type {OutboundReport[]} */
  const outbound = [];
  /** @type {Map<string, number>} outbound-rtp id → round trip in ms, from the far end's receiver reports */
  const rtt = new Map();
  publisher?.forEach((s) => {
    if (s.type === 'remote-inbound-rtp' && typeof s.localId === 'string') {
      const r = ms(s.roundTripTime);
      if (r !== null) rtt.set(s.localId, r);
    }
  });
  publisher?.forEach((s) => {
    if (s.type !== 'outbound-rtp' || outbound.length >= MAX_ENTRIES) return;
    const source = typeof s.mediaSourceId === 'string' ? publisher.get(s.mediaSourceId) : undefined;
    outbound.push({
      kind: s.kind,
      packets_sent: num(s.packetsSent),
      bytes_sent: num(s.bytesSent),
      round_trip_time_ms: rtt.get(s.id) ?? null,
      frames_per_second: num(s.framesPerSecond),
      audio_level: num(source?.audioLevel),
    });
  });
  return { type: 'stats', inbound, outbound };
}
