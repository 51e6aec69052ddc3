// The `stats` message (js/stats-report.js) built from getStats()-shaped
// reports: units converted, owners looked up, round trips matched to their
// outbound stream, missing figures null, lists capped.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statsReport, MAX_ENTRIES } from '../js/stats-report.js';

/** @param {any[]} entries @returns {Map<string, any>} a stand-in for an RTCStatsReport */
const report = (entries) => new Map(entries.map((s) => [s.id, s]));

test('inbound streams carry their owner and figures in the wire units', () => {
  const sub = report([
    { id: 'IT1', type: 'inbound-rtp', kind: 'video', trackIdentifier: 'tv', packetsReceived: 900, packetsLost: 12,
      jitter: 0.0125, framesDecoded: 300, framesPerSecond: 29.5, freezeCount: 2, totalFreezesDuration: 0.8, nackCount: 7 },
    { id: 'IT2', type: 'inbound-rtp', kind: 'audio', trackIdentifier: 'ta', packetsReceived: 500, packetsLost: 0,
      jitter: 0.002, audioLevel: 0.25 },
    { id: 'IT3', type: 'inbound-rtp', kind: 'audio', trackIdentifier: 'unknown', packetsReceived: 5 },
    { id: 'T1', type: 'transport', bytesSent: 1 },
  ]);
  const owners = new Map([['tv', 'p1'], ['ta', 'p1']]);
  const msg = statsReport(sub, null, (id) => owners.get(id) ?? null);
  assert.equal(msg.type, 'stats');
  assert.deepEqual(msg.outbound, []);
  assert.deepEqual(msg.inbound, [
    { participant_id: 'p1', track_id: 'tv', kind: 'video', packets_received: 900, packets_lost: 12, jitter_ms: 12.5,
      frames_decoded: 300, frames_per_second: 29.5, freeze_count: 2, total_freezes_duration_ms: 800,
      audio_level: null, nack_count: 7 },
    { participant_id: 'p1', track_id: 'ta', kind: 'audio', packets_received: 500, packets_lost: 0, jitter_ms: 2,
      frames_decoded: null, frames_per_second: null, freeze_count: null, total_freezes_duration_ms: null,
      audio_level: 0.25, nack_count: null },
  ], 'the stream nobody owns is left out');
});

test('outbound streams take their round trip from the matching remote-inbound-rtp and their level from the source', () => {
  const pub = report([
    { id: 'OA', type: 'outbound-rtp', kind: 'audio', packetsSent: 100, bytesSent: 9000, mediaSourceId: 'SA' },
    { id: 'OV', type: 'outbound-rtp', kind: 'video', packetsSent: 400, bytesSent: 300000, framesPerSecond: 30, mediaSourceId: 'SV' },
    { id: 'SA', type: 'media-source', kind: 'audio', audioLevel: 0.5 },
    { id: 'SV', type: 'media-source', kind: 'video' },
    { id: 'RV', type: 'remote-inbound-rtp', kind: 'video', localId: 'OV', roundTripTime: 0.04 },
    { id: 'RA', type: 'remote-inbound-rtp', kind: 'audio', localId: 'OA' },
  ]);
  const msg = statsReport(null, pub, () => null);
  assert.deepEqual(msg.inbound, []);
  assert.deepEqual(msg.outbound, [
    { kind: 'audio', packets_sent: 100, bytes_sent: 9000, round_trip_time_ms: null, frames_per_second: null, audio_level: 0.5 },
    { kind: 'video', packets_sent: 400, bytes_sent: 300000, round_trip_time_ms: 40, frames_per_second: 30, audio_level: null },
  ]);
});

test('non-numbers become null and no list grows past the server\'s limit', () => {
  const many = Array.from({ length: MAX_ENTRIES + 20 }, (_, i) =>
    ({ id: `I${i}`, type: 'inbound-rtp', kind: 'audio', trackIdentifier: `t${i}`, packetsReceived: NaN, jitter: 'x' }));
  const msg = statsReport(report(many), null, (id) => `owner-${id}`);
  assert.equal(msg.inbound.length, MAX_ENTRIES);
  assert.equal(msg.inbound[0].packets_received, null);
  assert.equal(msg.inbound[0].jitter_ms, null);
  assert.equal(JSON.stringify(msg).includes('NaN'), false);
});
