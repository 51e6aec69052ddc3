// End-to-end: the real `hoinghi` server on port 0 and real headless Chromium
// room terminals (fake camera and microphone). Asserts what a meeting room
// would notice: pictures and sound from every other room, nothing across
// rooms, tiles that go away when a room leaves, clear token errors.
//
// Run: `npm test` in web-client/ (HOINGHI_BIN, CHROMIUM_PATH, DEBUG and
// SCREENSHOT_DIR are read from the environment).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DEBUG, MEDIA_DEADLINE_MS, hoinghiServer, launchBrowser, makeToken as makeTokenIn, jwtClaims, eventually, statsOf,
  formatStats as formatStatsOf, saveScreenshot, screenshotDir, assertNoPageErrors, openTab,
} from './support.mjs';

const SCREENSHOT_DIR = screenshotDir('hoinghi-e2e');
const UI_DEADLINE_MS = 15_000;

// ---- the server ----

const server = hoinghiServer();
let baseUrl = '';
let dataDir = '';
/** @type {import('playwright-core').Browser | undefined} */
let browser;
let anyFailure = false;

/**
 * A join token from `hoinghi token`.
 * @param {{room: string, identity: string, name: string, ttl?: number}} o
 */
const makeToken = (o) => makeTokenIn(dataDir, o);

// ---- room terminals ----

/** @typedef {import('./support.mjs').Tab & {participantId?: string}} Terminal */

/** @type {Terminal[]} */
const terminals = [];

/**
 * Opens a room terminal in its own browser context (its own camera permission and storage).
 * @param {string} label
 * @param {string} token
 * @param {{beforeJoin?: (term: Terminal) => Promise<unknown>, fragment?: Record<string, string>}} [options]
 *   `fragment`: more URL fragment parameters after the token, e.g. `{codec: 'h264'}`
 * @returns {Promise<Terminal>}
 */
async function openTerminal(label, token, options = {}) {
  const extra = new URLSearchParams(options.fragment ?? {}).toString();
  return openTab(browser, label, `${baseUrl}/join#token=${token}${extra ? `&${extra}` : ''}`, {
    contextOptions: { permissions: ['camera', 'microphone'] },
    logPrefix: `page ${label}`,
    logFailedRequests: true,
    beforeGoto: async (term) => {
      terminals.push(term);
      if (options.beforeJoin) await options.beforeJoin(term);
    },
  });
}

/**
 * Proxies the page's signaling WebSocket through Playwright so that the test
 * can cut it like a network failure would.
 * @param {Terminal} term
 * @returns {() => void} cuts every signaling socket opened so far
 */
async function interceptSignaling(term) {
  /** @type {{page: import('playwright-core').WebSocketRoute, server: import('playwright-core').WebSocketRoute}[]} */
  const routes = [];
  await term.page.routeWebSocket(/\/ws$/, (page) => {
    routes.push({ page, server: page.connectToServer() });
  });
  return () => {
    for (const r of routes.splice(0)) {
      r.page.close({ code: 4000, reason: 'network cut by the test' }).catch(() => {});
      r.server.close().catch(() => {});
    }
  };
}

/** @param {Terminal} term @returns {Promise<{participantId: string, name: string, isSelf: boolean}[]>} */
function rosterOf(term) {
  return term.page.evaluate(() => /** @type {any} */ (window).hoinghi.roster());
}

/** @param {Terminal} term @returns {Promise<string>} our own participant id, once joined */
async function selfIdOf(term) {
  const handle = await term.page.waitForFunction(() => /** @type {any} */ (window).hoinghi?.session?.selfId, null, {
    timeout: UI_DEADLINE_MS,
    polling: 100,
  });
  term.participantId = await handle.jsonValue();
  return /** @type {string} */ (term.participantId);
}

/**
 * Waits until `term` decodes video and receives audio from participant `pid`.
 * @param {Terminal} term
 * @param {string} pid
 */
async function receivesFrom(term, pid) {
  await eventually(
    `${term.label} decodes video and receives audio from ${pid}`,
    async () => {
      const { inbound } = await statsOf(term);
      return (
        inbound.some((s) => s.participantId === pid && s.kind === 'video' && s.framesDecoded > 0) &&
        inbound.some((s) => s.participantId === pid && s.kind === 'audio' && s.packetsReceived > 0)
      );
    },
    MEDIA_DEADLINE_MS,
    () => `last inbound of ${term.label}:\n${formatStats(term.lastStats)}`,
  );
}

/**
 * One line per RTP stream, for failure messages.
 * @param {any} stats what `window.hoinghi.stats()` returned
 */
const formatStats = (stats) => formatStatsOf(stats, { detailed: true });

/** Prints what each terminal saw, for a failing run. */
async function dumpDiagnostics() {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  for (const term of terminals) {
    let shot = '';
    if (!term.page.isClosed()) {
      try {
        await statsOf(term);
      } catch {
        // keep the last stats we had
      }
      shot = path.join(SCREENSHOT_DIR, `failure-${term.label}.png`);
      await term.page.screenshot({ path: shot }).catch(() => (shot = ''));
    }
    console.error(
      `===== terminal ${term.label} (participant ${term.participantId ?? '?'}) =====\n` +
        `last stats:\n${formatStats(term.lastStats)}\n` +
        `console:\n  ${term.logs.slice(-60).join('\n  ')}\n` +
        (shot ? `screenshot: ${shot}\n` : ''),
    );
  }
  // The server's log follows once, from after().
}

/**
 * Runs a test body, dumping diagnostics if it throws.
 * @param {() => Promise<void>} body
 */
async function withDiagnostics(body) {
  try {
    await body();
    assertNoPageErrors(terminals, (term) => term.label);
  } catch (err) {
    anyFailure = true;
    await dumpDiagnostics();
    throw err;
  }
  // Passed: free the CPU for the next test (two cores run every browser and the server).
  for (const term of terminals.splice(0)) await term.context.close().catch(() => {});
}

/** @param {Terminal} term @param {string} name */
async function screenshot(term, name) {
  if (!process.env.SCREENSHOT_DIR) return;
  await saveScreenshot(term.page, SCREENSHOT_DIR, name);
}

// ---- setup ----

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-e2e-'));
  baseUrl = await server.start(dataDir);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.stop();
  if (anyFailure && !DEBUG) process.stderr.write(server.tail());
  await rm(dataDir, { recursive: true, force: true });
});

// ---- scenarios ----

test('three rooms see and hear each other, a fourth room is isolated, a leaving room disappears', { timeout: 180_000 }, () =>
  withDiagnostics(async () => {
    const specs = [
      { label: 'A', identity: 'room-a', name: 'UBND tỉnh Điện Biên' },
      { label: 'B', identity: 'room-b', name: 'UBND xã Mường Phăng' },
      { label: 'C', identity: 'room-c', name: 'UBND xã Thanh Nưa' },
    ];
    const tokens = await Promise.all(specs.map((s) => makeToken({ room: 'room-1', ...s })));
    const room1 = [];
    for (const [i, s] of specs.entries()) room1.push(await openTerminal(s.label, tokens[i]));
    const [a, b, c] = room1;
    const ids = await Promise.all(room1.map(selfIdOf));
    const idOf = new Map(room1.map((t, i) => [t, ids[i]]));
    assert.equal(new Set(ids).size, 3, `participant ids are distinct: ${ids}`);

    // Every room gets picture and sound from each of the two others.
    for (const term of room1) {
      for (const other of room1) if (other !== term) await receivesFrom(term, /** @type {string} */ (idOf.get(other)));
    }
    for (const term of room1) {
      const shown = await rosterOf(term);
      assert.deepEqual(
        shown.map((p) => p.participantId).sort(),
        [...ids].sort(),
        `${term.label}'s roster lists the three rooms`,
      );
      assert.equal(shown.filter((p) => p.isSelf).length, 1, `${term.label} marks itself once`);
      assert.equal(await term.page.locator('.tile').count(), 2, `${term.label} shows two tiles`);
    }
    assert.ok(
      (await rosterOf(a)).some((p) => p.name === 'UBND xã Thanh Nưa'),
      'roster shows display names with diacritics',
    );
    await screenshot(a, 'room-1-A');

    // A room in another meeting: connected and sending, but receives nothing from room-1.
    const d = await openTerminal('D', await makeToken({ room: 'room-2', identity: 'room-d', name: 'UBND xã Khác' }));
    const dId = await selfIdOf(d);
    await eventually(
      'D is connected and sends media',
      async () => {
        const { outbound } = await statsOf(d);
        const state = await d.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.state);
        return state === 'connected' && outbound.some((s) => s.kind === 'video' && s.packetsSent > 0);
      },
      MEDIA_DEADLINE_MS,
    );
    const { inbound: dInbound } = await statsOf(d);
    assert.deepEqual(
      dInbound.filter((s) => s.packetsReceived > 0),
      [],
      'D (room-2) receives no media from room-1',
    );
    assert.deepEqual(
      (await rosterOf(d)).map((p) => p.participantId),
      [dId],
      'D lists only itself',
    );
    assert.equal(await d.page.locator('.tile').count(), 0, 'D shows no tiles');
    assert.equal(await d.page.locator('#stage-message').textContent(), 'Chưa có điểm cầu nào khác');
    for (const term of [a, b]) {
      assert.ok(!(await rosterOf(term)).some((p) => p.participantId === dId), `${term.label} does not list D`);
    }

    // C leaves: its tile and roster entry vanish at A and B.
    const cId = /** @type {string} */ (idOf.get(c));
    const tileOfC = `[data-participant-id="${cId}"].tile`;
    for (const term of [a, b]) assert.equal(await term.page.locator(tileOfC).count(), 1, `${term.label} shows C's tile`);
    await c.page.getByRole('button', { name: 'Rời phòng' }).click();
    for (const term of [a, b]) {
      await eventually(
        `${term.label} no longer shows C`,
        async () =>
          (await term.page.locator(tileOfC).count()) === 0 &&
          !(await rosterOf(term)).some((p) => p.participantId === cId),
        UI_DEADLINE_MS,
      );
      assert.equal(await term.page.locator('.tile').count(), 1, `${term.label} still shows the other room`);
    }
    assert.equal(await c.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.state), 'closed');
    await screenshot(a, 'room-1-A-after-C-left');
  }),
);

test('a bad or expired token shows a clear error and no media', { timeout: 60_000 }, () =>
  withDiagnostics(async () => {
    const bad = await openTerminal('invalid', 'abc.def.ghi');
    const banner = bad.page.locator('#error-banner');
    await banner.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.equal(await banner.getAttribute('data-code'), 'invalid_token');
    assert.equal((await banner.textContent())?.trim(), 'Mã truy cập không hợp lệ');
    assert.deepEqual((await statsOf(bad)).inbound, [], 'no media with an invalid token');
    assert.equal(await bad.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.state), 'failed');
    await screenshot(bad, 'invalid-token');

    const token = await makeToken({ room: 'room-1', identity: 'room-late', name: 'Phòng đến muộn', ttl: 1 });
    const { exp } = jwtClaims(token);
    assert.equal(typeof exp, 'number', 'the token carries exp');
    await eventually('the 1-second token expires', async () => Date.now() >= (exp + 1) * 1000, 5_000);
    const late = await openTerminal('expired', token);
    const lateBanner = late.page.locator('#error-banner');
    await lateBanner.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.equal(await lateBanner.getAttribute('data-code'), 'token_expired');
    assert.equal((await lateBanner.textContent())?.trim(), 'Mã truy cập đã hết hạn');
    assert.deepEqual((await statsOf(late)).inbound, [], 'no media with an expired token');

    // The switch to English translates the banner in place.
    await late.page.getByRole('button', { name: 'EN' }).click();
    assert.equal((await lateBanner.textContent())?.trim(), 'The access token has expired');
    await screenshot(late, 'expired-token-en');
  }),
);

test('a terminal rejoins by itself after its connection drops; joining elsewhere replaces it', { timeout: 180_000 }, () =>
  withDiagnostics(async () => {
    const room = 'room-3';
    const tokenE = await makeToken({ room, identity: 'room-e', name: 'Sở Nội vụ' });
    /** @type {() => void} */
    let cut = () => {};
    const e = await openTerminal('E', tokenE, { beforeJoin: async (t) => (cut = await interceptSignaling(t)) });
    const f = await openTerminal('F', await makeToken({ room, identity: 'room-f', name: 'UBND phường Him Lam' }));
    const [eId1, fId] = [await selfIdOf(e), await selfIdOf(f)];
    await receivesFrom(f, eId1);
    await receivesFrom(e, fId);
    const cameraBefore = await e.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.localStream?.id);

    // The network drops E's signaling socket: E says so, rejoins with its token, and media flows again.
    cut();
    await eventually(
      'E shows that it is reconnecting',
      async () => (await e.page.locator('#status').getAttribute('data-state')) === 'reconnecting',
      UI_DEADLINE_MS,
    );
    assert.equal((await e.page.locator('#status-text').textContent())?.trim(), 'Mất kết nối — đang kết nối lại…');
    await eventually(
      'E has rejoined as a new participant',
      async () => {
        const id = await e.page.evaluate(() => /** @type {any} */ (window).hoinghi.session?.selfId);
        return Boolean(id) && id !== eId1;
      },
      UI_DEADLINE_MS,
    );
    const eId2 = await selfIdOf(e);
    await receivesFrom(f, eId2);
    await receivesFrom(e, fId);
    assert.equal(
      await e.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.localStream?.id),
      cameraBefore,
      'E reuses its camera stream',
    );
    await eventually(
      "F shows E's new session only",
      async () => {
        const ids = (await rosterOf(f)).map((p) => p.participantId).sort();
        const tiles = await f.page.locator('.tile').evaluateAll((els) => els.map((el) => el.getAttribute('data-participant-id')));
        return JSON.stringify(ids) === JSON.stringify([eId2, fId].sort()) && JSON.stringify(tiles) === JSON.stringify([eId2]);
      },
      UI_DEADLINE_MS,
    );

    // The same room terminal opened somewhere else: the old page stops and says why.
    const e2 = await openTerminal('E2', tokenE);
    const eId3 = await selfIdOf(e2);
    const banner = e.page.locator('#error-banner');
    await banner.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.equal(await banner.getAttribute('data-code'), 'replaced');
    assert.equal(await e.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.state), 'failed');
    await receivesFrom(f, eId3);
    // The replaced page stays down instead of fighting back for the identity.
    assert.equal(await e2.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.selfId), eId3);
    assert.equal(await e.page.evaluate(() => /** @type {any} */ (window).hoinghi.session.state), 'failed');
    await screenshot(e, 'replaced');
  }),
);

test('a room publishing H.264 and a room publishing VP8 decode each other', { timeout: 120_000 }, () =>
  withDiagnostics(async () => {
    const room = 'room-codecs';
    const h = await openTerminal('H264', await makeToken({ room, identity: 'room-h264', name: 'Phòng họp H.264' }), {
      fragment: { codec: 'h264' },
    });
    const v = await openTerminal('VP8', await makeToken({ room, identity: 'room-vp8', name: 'Phòng họp VP8' }), {
      fragment: { codec: 'vp8' },
    });
    const [hId, vId] = [await selfIdOf(h), await selfIdOf(v)];
    await receivesFrom(v, hId);
    await receivesFrom(h, vId);

    // Each side sends in the codec it asked for, and the other side decodes exactly that.
    for (const [term, mime] of /** @type {const} */ ([[h, 'video/H264'], [v, 'video/VP8']])) {
      await eventually(
        `${term.label} sends video as ${mime}`,
        async () => (await statsOf(term)).outbound.some((s) => s.kind === 'video' && s.codec === mime && s.framesEncoded > 0),
        MEDIA_DEADLINE_MS,
        async () => `last stats of ${term.label}:\n${formatStats(term.lastStats)}\n${await publisherSdp(term)}`,
      );
    }
    for (const [term, from, mime] of /** @type {const} */ ([[v, hId, 'video/H264'], [h, vId, 'video/VP8']])) {
      await eventually(
        `${term.label} decodes ${from}'s video as ${mime}`,
        async () => {
          const video = (await statsOf(term)).inbound.filter((s) => s.participantId === from && s.kind === 'video');
          return video.length === 1 && video[0].codec === mime && video[0].framesDecoded > 0;
        },
        MEDIA_DEADLINE_MS,
        () => `last inbound of ${term.label}:\n${formatStats(term.lastStats)}`,
      );
    }
    await screenshot(v, 'codecs-VP8-sees-H264');
  }),
);

/**
 * The video lines of a terminal's publisher offer and the server's answer, for failure messages.
 * @param {Terminal} term
 */
async function publisherSdp(term) {
  return term.page.evaluate(() => {
    const pc = /** @type {any} */ (window).hoinghi.session?.publisher;
    /** @param {string | undefined} sdp */
    const video = (sdp) => {
      const lines = (sdp ?? '').split(/\r?\n/);
      const start = lines.findIndex((l) => l.startsWith('m=video'));
      if (start < 0) return '  (no m=video)';
      const end = lines.findIndex((l, i) => i > start && l.startsWith('m='));
      return lines
        .slice(start, end < 0 ? undefined : end)
        .filter((l) => /^(m=|a=rtpmap|a=fmtp)/.test(l))
        .map((l) => `  ${l}`)
        .join('\n');
    };
    return `publisher offer:\n${video(pc?.localDescription?.sdp)}\nserver answer:\n${video(pc?.remoteDescription?.sdp)}`;
  });
}
