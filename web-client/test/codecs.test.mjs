// Unit tests of js/codecs.js (no browser, no server).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseVideoCodec, preferVideoCodec } from '../js/codecs.js';

/** What Chromium's RTCRtpSender.getCapabilities('video').codecs looks like (abridged). */
const CHROMIUM = [
  { mimeType: 'video/VP8', clockRate: 90000 },
  { mimeType: 'video/rtx', clockRate: 90000 },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f' },
  { mimeType: 'video/H264', clockRate: 90000, sdpFmtpLine: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f' },
  { mimeType: 'video/AV1', clockRate: 90000, sdpFmtpLine: 'level-idx=5;profile=0;tier=0' },
  { mimeType: 'video/VP9', clockRate: 90000, sdpFmtpLine: 'profile-id=0' },
  { mimeType: 'video/red', clockRate: 90000 },
  { mimeType: 'video/ulpfec', clockRate: 90000 },
];

/** @param {{mimeType: string, sdpFmtpLine?: string}[]} codecs */
const names = (codecs) =>
  codecs.map((c) => {
    const mode = /packetization-mode=(\d)/.exec(c.sdpFmtpLine ?? '')?.[1];
    const profile = /profile-level-id=(\w+)/.exec(c.sdpFmtpLine ?? '')?.[1];
    return c.mimeType.replace('video/', '') + (profile ? ` ${profile}/${mode}` : '');
  });

test('H.264 first, constrained baseline in packetization-mode 1 leading; the rest keep their order', () => {
  const ordered = preferVideoCodec(CHROMIUM, 'h264');
  assert.ok(ordered);
  assert.deepEqual(names(ordered), [
    'H264 42e01f/1',
    'H264 42001f/1',
    'H264 4d001f/1',
    'H264 42e01f/0',
    'H264 42001f/0',
    'VP8',
    'rtx',
    'AV1',
    'VP9',
    'red',
    'ulpfec',
  ]);
  assert.equal(ordered.length, CHROMIUM.length, 'nothing dropped');
  assert.equal(CHROMIUM[0].mimeType, 'video/VP8', 'the input is left alone');
});

test('VP8 first; already first means the order is unchanged', () => {
  assert.deepEqual(preferVideoCodec(CHROMIUM, 'vp8'), CHROMIUM);
  const h264First = [...CHROMIUM.slice(2, 4), ...CHROMIUM.slice(0, 2), ...CHROMIUM.slice(4)];
  assert.deepEqual(names(preferVideoCodec(h264First, 'vp8') ?? []).slice(0, 4), ['VP8', 'H264 42001f/1', 'H264 42001f/0', 'rtx']);
});

test('a codec the browser lacks gives null (the caller keeps the default)', () => {
  assert.equal(preferVideoCodec(CHROMIUM.filter((c) => c.mimeType !== 'video/H264'), 'h264'), null);
  assert.equal(preferVideoCodec([], 'vp8'), null);
});

test('codec names from a link', () => {
  assert.equal(parseVideoCodec('h264'), 'h264');
  assert.equal(parseVideoCodec(' H264 '), 'h264');
  assert.equal(parseVideoCodec('VP8'), 'vp8');
  assert.equal(parseVideoCodec('vp9'), null);
  assert.equal(parseVideoCodec(''), null);
  assert.equal(parseVideoCodec(null), null);
});
