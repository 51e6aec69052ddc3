// The board's pieces that need no browser: the server-sent-events parser of
// js/board-feed.js (chunks cut anywhere, comments, CRLF) and the figures of
// js/board-view.js coloured against the feed's thresholds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser } from '../js/board-feed.js';
import { figuresOf } from '../js/board-view.js';
import { filenameOf } from '../js/api.js';

test('SSE: events split across chunks, comments skipped, multi-line data joined', () => {
  const p = new SseParser();
  const text = ': keep-alive\n\nevent: board\ndata: {"at":1,\ndata: "x":2}\n\nevent: board\ndata:{"at":2}\n\n';
  /** @type {any[]} */
  const events = [];
  // One character at a time: no boundary may matter.
  for (const ch of text) events.push(...p.push(ch));
  assert.deepEqual(events, [
    { event: 'board', data: '{"at":1,\n"x":2}' },
    { event: 'board', data: '{"at":2}' },
  ]);
});

test('SSE: CRLF and CR line ends, default event name, unfinished event held back', () => {
  const p = new SseParser();
  assert.deepEqual(p.push('data: a\r\n\r\ndata: b\r'), [{ event: 'message', data: 'a' }]);
  assert.deepEqual(p.push('\r'), [], 'a CR at the end may be half a CRLF: wait');
  assert.deepEqual(p.push('\r'), [{ event: 'message', data: 'b' }], 'a lone CR ends a line once the next character shows it is not CRLF');
  assert.deepEqual(p.push('\nevent: board\ndata: c\n'), [], 'no blank line yet: not dispatched');
  assert.deepEqual(p.push('\n'), [{ event: 'board', data: 'c' }]);
});

const TH = { loss_warn: 0.01, loss_bad: 0.05, rtt_warn_ms: 250, degraded_alarm_secs: 30, silent_alarm_secs: 20, freeze_warn_secs: 10 };
const AT = 1_764_100_000_000;
/** @param {any} over */
const terminal = (over) => ({
  terminal_id: 't', name: 'UBND xã', unit: 'Xã', presence: 'joined', joined_at: 1, host: false,
  server: null, client: null, quality: 'unknown', history: [], ...over,
});
/** @param {any[]} figures @returns {Record<string, {text: string, level: string}>} */
const byKey = (figures) => Object.fromEntries(figures.map((f) => [f.key, { text: f.text, level: f.level }]));

test('figures: loss is the worse of the server\'s and the terminal\'s, coloured at 1 % and 5 %', () => {
  const levels = [[0.005, 'good'], [0.02, 'warn'], [0.08, 'bad']].map(([clientLoss]) =>
    byKey(figuresOf(terminal({ server: { loss_in: 0.001 }, client: { loss: clientLoss } }), TH, AT)).loss.level);
  assert.deepEqual(levels, ['good', 'warn', 'bad']);
  const f = byKey(figuresOf(terminal({ server: { loss_in: 0.08 }, client: { loss: 0 } }), TH, AT));
  assert.equal(f.loss.level, 'bad', 'the server saw the loss even though the terminal did not');
  assert.equal(f.loss.text, '8 %');
});

test('figures: round trip over 250 ms and any freeze warn; units and unknowns shown', () => {
  const f = byKey(figuresOf(terminal({
    server: { rtt_ms: 300, jitter_ms: 12, bitrate_in_bps: 1_250_000, bitrate_out_bps: 640_000, layer: 'h', audio_level: 0.25 },
    client: { freeze_count: 2, total_freezes_duration_ms: 1500, frames_per_second: 29.7, jitter_ms: 20, last_freeze_at: AT - 4_000 },
  }), TH, AT));
  assert.deepEqual(f.rtt, { text: '300 ms', level: 'warn' });
  assert.equal(f.freezes.level, 'warn');
  assert.match(f.freezes.text, /^2 .*1,5/);
  assert.equal(f.jitter.text, '20 ms', 'the worse jitter');
  assert.equal(f.bitrate.text, '↑ 1,3 Mbit/s  ↓ 640 kbit/s');
  assert.equal(f.fps.text, '30');
  assert.equal(f.layer.text, 'Vừa');
  assert.equal(f.audio.text, '25');
  const old = byKey(figuresOf(terminal({ client: { freeze_count: 2, last_freeze_at: AT - 60_000 } }), TH, AT));
  assert.equal(old.freezes.level, 'good', 'a freeze a minute ago no longer warns');
  const empty = byKey(figuresOf(terminal({}), TH, AT));
  assert.deepEqual(empty.loss, { text: '–', level: '' });
  assert.deepEqual(empty.rtt, { text: '–', level: '' });
  assert.deepEqual(byKey(figuresOf(terminal({ server: { rtt_ms: 40 }, client: { freeze_count: 0 } }), TH, AT)).rtt,
    { text: '40 ms', level: 'good' });
});

test('the CSV file name comes from Content-Disposition, UTF-8 form first', () => {
  assert.equal(filenameOf("attachment; filename=\"a.csv\"; filename*=UTF-8''%C4%91i%E1%BB%83m-danh.csv"), 'điểm-danh.csv');
  assert.equal(filenameOf('attachment; filename="diem-danh.csv"'), 'diem-danh.csv');
  assert.equal(filenameOf('attachment; filename=plain.csv'), 'plain.csv');
  assert.equal(filenameOf(null), null);
});

/**
 * Runs `fn` with `fetch` answering from `answers` in turn (each a function of the request).
 * @param {((url: string, init: any) => Response | Promise<Response>)[]} answers
 * @param {(calls: string[]) => Promise<void>} fn
 */
async function withFetch(answers, fn) {
  const real = globalThis.fetch;
  /** @type {string[]} */
  const calls = [];
  globalThis.fetch = /** @type {any} */ (async (/** @type {string} */ url, /** @type {any} */ init) => {
    calls.push(url);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    return answer(url, init);
  });
  try {
    await fn(calls);
  } finally {
    globalThis.fetch = real;
  }
}

/** @param {string} text @returns {Response} an event stream that ends after `text` */
const sse = (text) => new Response(new Blob([text]).stream(), { status: 200, headers: { 'content-type': 'text/event-stream' } });

/**
 * @param {EventTarget} target
 * @param {string} type
 * @param {(detail: any) => boolean} [match]
 * @returns {Promise<any>} the detail of the first matching event
 */
const next = (target, type, match = () => true) => new Promise((resolve) => {
  const on = (/** @type {Event} */ ev) => {
    const detail = /** @type {CustomEvent} */ (ev).detail;
    if (!match(detail)) return;
    target.removeEventListener(type, on);
    resolve(detail);
  };
  target.addEventListener(type, on);
});

test('feed: boards are delivered, a stream that ends is reopened, and the state says so', async () => {
  const { BoardFeed } = await import('../js/board-feed.js');
  await withFetch([
    () => sse(': keep-alive\n\nevent: board\ndata: {"at":1}\n\n'),
    () => sse('event: board\ndata: {"at":2}\n\n'),
  ], async (calls) => {
    const feed = new BoardFeed();
    /** @type {string[]} */
    const states = [];
    feed.addEventListener('state', (ev) => states.push(/** @type {CustomEvent} */ (ev).detail.state));
    const second = next(feed, 'board', (d) => d.board.at === 2);
    feed.start();
    assert.equal((await second).board.at, 2, 'the second stream\'s board arrives after the first stream ended');
    feed.stop();
    assert.deepEqual(states, ['connecting', 'live', 'lost', 'live', 'stopped']);
    assert.equal(calls.length, 2);
    assert.match(calls[0], /\/api\/v1\/board\/events$/);
  });
});

test('feed: a refused session (403) stops the feed instead of retrying', async () => {
  const { BoardFeed } = await import('../js/board-feed.js');
  await withFetch([
    () => new Response(JSON.stringify({ code: 'forbidden', message: 'operators only', field: null }), { status: 403 }),
  ], async (calls) => {
    const feed = new BoardFeed();
    const refused = next(feed, 'refused');
    feed.start();
    const { error } = await refused;
    assert.equal(error.status, 403);
    assert.equal(error.code, 'forbidden');
    assert.equal(feed.state, 'stopped');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(calls.length, 1, 'no retry after a refusal');
  });
});
