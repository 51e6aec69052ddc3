// End-to-end: the room-terminal kiosk (/kiosk) against the real `hoinghi`
// server and real headless Chromium. Through the REST API the test registers
// three terminals and schedules a meeting for two of them; their kiosks,
// given only their device credentials, join by themselves, exchange media and
// wait for the chair; the third stays on its waiting screen and is refused a
// join token.
//
// Run: `npm test` in web-client/ (HOINGHI_BIN, CHROMIUM_PATH, DEBUG and
// SCREENSHOT_DIR are read from the environment).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const webClientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(webClientDir, '..');
const HOINGHI_BIN = process.env.HOINGHI_BIN || path.join(repoRoot, 'target/debug/hoinghi');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const DEBUG = Boolean(process.env.DEBUG);
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || path.join(os.tmpdir(), 'hoinghi-e2e');

const SERVER_START_MS = 30_000;
const MEDIA_DEADLINE_MS = 45_000;
const UI_DEADLINE_MS = 20_000;
const ADMIN_PASSWORD = 'kiosk-test-admin-password';

// The same browser as e2e.test.mjs: fake camera and microphone, no prompts.
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--use-fake-device-for-media-stream=fps=30',
  '--use-fake-ui-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];

/** @type {import('node:child_process').ChildProcess | undefined} */
let server;
let baseUrl = '';
let dataDir = '';
const serverLog = { stdout: '', stderr: '' };
/** @type {import('playwright-core').Browser | undefined} */
let browser;
let anyFailure = false;

/** Starts `hoinghi` on port 0 and resolves with its base URL (no trailing slash). */
function startServer() {
  return new Promise((resolve, reject) => {
    const args = ['--listen', '127.0.0.1:0', '--media-port', '0', '--metrics-listen', '127.0.0.1:0', '--public-ip', '127.0.0.1', '--data-dir', dataDir,
      '--admin-password', ADMIN_PASSWORD,
      // No grace after the end, so that a short meeting ends within the test.
      '--join-grace-min', '0'];
    const child = spawn(HOINGHI_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    const timer = setTimeout(() => {
      reject(new Error(`hoinghi did not print "serving on" within ${SERVER_START_MS} ms\n${tail(serverLog)}`));
    }, SERVER_START_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${HOINGHI_BIN}: ${err.message} (build it with cargo build -p signaling)`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`hoinghi exited early (code ${code}, signal ${signal})\n${tail(serverLog)}`));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      serverLog.stderr += chunk;
      if (DEBUG) process.stderr.write(chunk);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      serverLog.stdout += chunk;
      if (DEBUG) process.stderr.write(chunk);
      const m = /serving on (https?:\/\/\S+?)\/?(?:\s|$)/m.exec(serverLog.stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

/** @param {{stdout: string, stderr: string}} log */
function tail(log, chars = 20_000) {
  return `--- server stdout ---\n${log.stdout.slice(-chars)}\n--- server stderr ---\n${log.stderr.slice(-chars)}`;
}

/**
 * A REST call; resolves with the status and the parsed body (null if none).
 * @param {string} method
 * @param {string} route under /api/v1
 * @param {{token?: string, body?: unknown}} [options]
 * @returns {Promise<{status: number, body: any}>}
 */
async function api(method, route, { token, body } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}/api/v1${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/**
 * @param {string} method @param {string} route @param {number} expected
 * @param {{token?: string, body?: unknown}} [options]
 */
async function apiOk(method, route, expected, options) {
  const res = await api(method, route, options);
  assert.equal(res.status, expected, `${method} ${route}: ${JSON.stringify(res.body)}`);
  return res.body;
}

// ---- kiosks ----

/**
 * @typedef {{label: string, page: import('playwright-core').Page,
 *   context: import('playwright-core').BrowserContext, logs: string[], lastStats: any}} Kiosk
 */

/** @type {Kiosk[]} */
const kiosks = [];

/**
 * Opens a kiosk in its own browser context (its own storage, like its own PC).
 * @param {string} label
 * @param {string} fragment after `/kiosk#`, e.g. `credential=hnd_…`; empty for none
 * @returns {Promise<Kiosk>}
 */
async function openKiosk(label, fragment) {
  assert.ok(browser);
  const context = await browser.newContext({
    permissions: ['camera', 'microphone'],
    viewport: { width: 1280, height: 720 },
  });
  const page = await context.newPage();
  /** @type {Kiosk} */
  const kiosk = { label, page, context, logs: [], lastStats: null };
  const record = (/** @type {string} */ line) => {
    kiosk.logs.push(line);
    if (DEBUG) process.stderr.write(`kiosk ${label}: ${line}\n`);
  };
  page.on('console', (msg) => record(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => record(`[pageerror] ${err.stack ?? err.message}`));
  page.on('dialog', (dialog) => dialog.accept());
  kiosks.push(kiosk);
  await page.goto(`${baseUrl}/kiosk${fragment ? `#${fragment}` : ''}`);
  return kiosk;
}

/** @param {Kiosk} k @returns {Promise<string>} `setup` or the kiosk's phase */
const phaseOf = (k) => k.page.evaluate(() => /** @type {any} */ (window).hoinghi.phase());

/** @param {Kiosk} k */
async function statsOf(k) {
  k.lastStats = await k.page.evaluate(() => /** @type {any} */ (window).hoinghi.stats());
  return k.lastStats;
}

/**
 * Calls `probe` until it returns true or the deadline passes; never a fixed sleep.
 * @param {string} what
 * @param {() => Promise<boolean>} probe
 * @param {number} timeoutMs
 * @param {() => Promise<string> | string} [explain]
 */
async function eventually(what, probe, timeoutMs, explain) {
  const deadline = Date.now() + timeoutMs;
  /** @type {unknown} */
  let lastError;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const detail = explain ? await explain() : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}\n${detail}${lastError ? `\nlast error: ${lastError}` : ''}`);
}

/** @param {any} stats */
function formatStats(stats) {
  if (!stats) return '  (none)';
  const lines = [
    ...stats.inbound.map((/** @type {any} */ s) =>
      `  in  ${s.kind} from ${s.participantId}: packets ${s.packetsReceived}, frames ${s.framesDecoded}`),
    ...stats.outbound.map((/** @type {any} */ s) => `  out ${s.kind}: packets ${s.packetsSent}, frames ${s.framesEncoded}`),
  ];
  return lines.length ? lines.join('\n') : '  (no RTP streams)';
}

/**
 * Waits until kiosk `k` decodes video and receives sound from some other room.
 * @param {Kiosk} k
 */
async function receivesMedia(k) {
  await eventually(
    `kiosk ${k.label} decodes the other room's video and receives its audio`,
    async () => {
      const { inbound } = await statsOf(k);
      return (
        inbound.some((/** @type {any} */ s) => s.participantId && s.kind === 'video' && s.framesDecoded > 0) &&
        inbound.some((/** @type {any} */ s) => s.participantId && s.kind === 'audio' && s.packetsReceived > 0)
      );
    },
    MEDIA_DEADLINE_MS,
    () => `last inbound of ${k.label}:\n${formatStats(k.lastStats)}`,
  );
}

/** @param {Kiosk} k @param {string} name */
async function screenshot(k, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await k.page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/**
 * Runs a test body; on failure prints what each kiosk saw.
 * @param {() => Promise<void>} body
 */
async function withDiagnostics(body) {
  try {
    await body();
    for (const k of kiosks) {
      const errors = k.logs.filter((l) => l.startsWith('[pageerror]'));
      assert.deepEqual(errors, [], `kiosk ${k.label} has no uncaught page errors`);
    }
  } catch (err) {
    anyFailure = true;
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    for (const k of kiosks) {
      const shot = path.join(SCREENSHOT_DIR, `kiosk-failure-${k.label}.png`);
      await k.page.screenshot({ path: shot }).catch(() => {});
      await statsOf(k).catch(() => {});
      console.error(`===== kiosk ${k.label} =====\nstats:\n${formatStats(k.lastStats)}\n` +
        `console:\n  ${k.logs.slice(-60).join('\n  ')}\nscreenshot: ${shot}\n`);
    }
    throw err;
  }
  for (const k of kiosks.splice(0)) await k.context.close().catch(() => {});
}

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-kiosk-'));
  baseUrl = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server?.once('exit', r));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server?.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (anyFailure && !DEBUG) process.stderr.write(tail(serverLog));
  await rm(dataDir, { recursive: true, force: true });
});

// ---- scenarios ----

test('two rostered kiosks join by themselves and wait for the chair; a third is refused', { timeout: 180_000 }, () =>
  withDiagnostics(async () => {
    const { token: admin } = await apiOk('POST', '/auth/login', 200, {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const unit = await apiOk('POST', '/units', 201, { token: admin, body: { name: 'Tỉnh Điện Biên', level: 'Tỉnh' } });
    const names = ['UBND tỉnh Điện Biên', 'UBND xã Mường Phăng', 'UBND xã Thanh Nưa'];
    /** @type {{endpoint: any, credential: string}[]} */
    const terms = [];
    for (const name of names) {
      terms.push(await apiOk('POST', '/endpoints', 201, { token: admin, body: { unit_id: unit.id, name } }));
    }
    const [t1, t2, t3] = terms;
    const start = Math.floor(Date.now() / 1000) + 120;
    const meeting = await apiOk('POST', '/meetings', 201, {
      token: admin,
      body: {
        title: 'Giao ban trực tuyến tháng 11',
        agenda: 'Kiểm tra điểm cầu',
        start,
        end: start + 3600,
        host_endpoint_id: t1.endpoint.id,
        roster: [t1.endpoint.id, t2.endpoint.id],
        mode: 'controlled_discussion',
      },
    });

    const k1 = await openKiosk('1', `credential=${encodeURIComponent(t1.credential)}`);
    const k2 = await openKiosk('2', `credential=${encodeURIComponent(t2.credential)}`);
    const k3 = await openKiosk('3', `credential=${encodeURIComponent(t3.credential)}`);

    // The credential is kept, and leaves the address bar at once.
    for (const [k, t] of [[k1, t1], [k2, t2], [k3, t3]]) {
      await eventually(`kiosk ${k.label} drops the credential from its URL`, async () => !k.page.url().includes('#'), UI_DEADLINE_MS);
      assert.equal(await k.page.evaluate(() => localStorage.getItem('hoinghi.kiosk.credential')), t.credential);
    }

    // 1 and 2 join by themselves (the window opened an hour before the start) and wait for the chair.
    for (const k of [k1, k2]) {
      await eventually(`kiosk ${k.label} is in the call before the start`, async () => (await phaseOf(k)) === 'waiting_chair',
        UI_DEADLINE_MS, async () => `phase: ${await phaseOf(k).catch(String)}`);
      const banner = k.page.locator('#chair-banner');
      await banner.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
      assert.match(await banner.innerText(), /Đang chờ chủ trì/);
    }
    await Promise.all([receivesMedia(k1), receivesMedia(k2)]);
    const rosterNames = async (/** @type {Kiosk} */ k) =>
      (await k.page.evaluate(() => /** @type {any} */ (window).hoinghi.roster())).map((/** @type {any} */ r) => r.name).sort();
    await eventually('both kiosks list both rooms', async () =>
      JSON.stringify(await rosterNames(k1)) === JSON.stringify([names[0], names[1]].sort()) &&
      JSON.stringify(await rosterNames(k2)) === JSON.stringify([names[0], names[1]].sort()), UI_DEADLINE_MS);

    // 3 is not on the roster: it stays on its clock with no meeting, and is never in a call.
    await eventually('kiosk 3 shows no meeting', async () => (await phaseOf(k3)) === 'idle', UI_DEADLINE_MS);
    assert.ok(await k3.page.locator('#no-meeting').isVisible(), 'kiosk 3 says there is no meeting');
    assert.ok(await k3.page.locator('#clock-time').isVisible(), 'kiosk 3 shows the clock');
    assert.equal(await k3.page.evaluate(() => /** @type {any} */ (window).hoinghi.session), null);
    const { token: device3 } = await apiOk('POST', '/auth/device', 200, { body: { credential: t3.credential } });
    const refused = await api('POST', `/me/meetings/${meeting.id}/join-token`, { token: device3 });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'not_rostered');

    await screenshot(k1, 'kiosk-in-call-waiting-chair');
    await screenshot(k3, 'kiosk-waiting-screen');
    // The English switch translates the kiosk's own strings too.
    await k1.page.click('#lang-switch');
    await eventually('kiosk 1 speaks English', async () =>
      /Waiting for the chair/.test(await k1.page.locator('#chair-banner').innerText()), UI_DEADLINE_MS);
    await k1.page.click('#lang-switch');
  }));

test('a kiosk set up from its form shows its next meeting; a refused credential sends it back to the form', { timeout: 60_000 }, () =>
  withDiagnostics(async () => {
    const k = await openKiosk('setup', '');
    await k.page.locator('#setup-screen').waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await screenshot(k, 'kiosk-setup');
    await k.page.fill('#credential-input', 'hnd_not-a-real-credential');
    await k.page.click('#setup-form button[type=submit]');
    const error = k.page.locator('#setup-error');
    await error.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.match(await error.innerText(), /không chấp nhận mã thiết bị/);
    assert.equal(await k.page.evaluate(() => localStorage.getItem('hoinghi.kiosk.credential')), null,
      'a refused credential is not kept');
    assert.ok(await k.page.locator('#setup-form').isVisible(), 'the setup form is offered again');

    // A room chairing a meeting in three hours: the clock, the meeting, the time left; no call yet.
    const { token: admin } = await apiOk('POST', '/auth/login', 200, {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const unit = await apiOk('POST', '/units', 201, { token: admin, body: { name: 'Sở Nội vụ', level: 'Sở' } });
    const t = await apiOk('POST', '/endpoints', 201, { token: admin, body: { unit_id: unit.id, name: 'Phòng họp Sở Nội vụ' } });
    const start = Math.floor(Date.now() / 1000) + 3 * 3600;
    await apiOk('POST', '/meetings', 201, {
      token: admin,
      body: { title: 'Họp chuyên đề cải cách hành chính', agenda: '', start, end: start + 5400,
        host_endpoint_id: t.endpoint.id, roster: [t.endpoint.id], mode: 'directive' },
    });
    await k.page.fill('#credential-input', `  ${t.credential}\n`);
    await k.page.click('#setup-form button[type=submit]');
    const card = k.page.locator('#next-card');
    await card.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.equal(await k.page.locator('#next-title').innerText(), 'Họp chuyên đề cải cách hành chính');
    assert.match(await k.page.locator('#next-countdown').innerText(), /^còn (2 giờ 5\d|3 giờ 0) phút$/);
    assert.equal(await k.page.locator('#next-host').innerText(), 'Điểm cầu này chủ trì');
    assert.equal(await phaseOf(k), 'upcoming');
    assert.equal(await k.page.evaluate(() => /** @type {any} */ (window).hoinghi.session), null);
    assert.equal(await k.page.evaluate(() => localStorage.getItem('hoinghi.kiosk.credential')), t.credential);
    await screenshot(k, 'kiosk-next-meeting');

    // The technician's reset forgets the credential and shows the form again.
    await k.page.click('#kiosk-reset');
    await k.page.locator('#setup-screen').waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    assert.equal(await k.page.evaluate(() => localStorage.getItem('hoinghi.kiosk.credential')), null);
  }));

test('a kiosk in a short meeting sees it start, then leaves and returns to its clock when it ends', { timeout: 90_000 }, () =>
  withDiagnostics(async () => {
    const { token: admin } = await apiOk('POST', '/auth/login', 200, {
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    const unit = await apiOk('POST', '/units', 201, { token: admin, body: { name: 'Xã Nà Tấu', level: 'Xã' } });
    const t = await apiOk('POST', '/endpoints', 201, { token: admin, body: { unit_id: unit.id, name: 'UBND xã Nà Tấu' } });
    const start = Math.floor(Date.now() / 1000) + 8;
    await apiOk('POST', '/meetings', 201, {
      token: admin,
      body: { title: 'Họp ngắn', agenda: '', start, end: start + 12,
        host_endpoint_id: t.endpoint.id, roster: [t.endpoint.id], mode: 'open' },
    });
    const k = await openKiosk('short', `credential=${encodeURIComponent(t.credential)}`);
    await eventually('the kiosk joins before the start', async () => (await phaseOf(k)) === 'waiting_chair', UI_DEADLINE_MS);
    await k.page.locator('#chair-banner').waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await eventually('the kiosk is in the meeting after the start', async () => (await phaseOf(k)) === 'live', UI_DEADLINE_MS);
    await k.page.locator('#chair-banner').waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    assert.ok(await k.page.locator('#call-screen').isVisible());
    await eventually('the kiosk leaves when the meeting ends', async () =>
      (await phaseOf(k)) === 'idle' && (await k.page.evaluate(() => /** @type {any} */ (window).hoinghi.session)) === null,
      30_000, async () => `phase: ${await phaseOf(k).catch(String)}`);
    assert.ok(await k.page.locator('#clock-time').isVisible(), 'back on the clock');
    assert.ok(await k.page.locator('#no-meeting').isVisible(), 'with no meeting left');
    assert.ok(!(await k.page.locator('#call-screen').isVisible()), 'the call is gone');
    assert.ok(!(await k.page.locator('#left-overlay').isVisible()), 'nobody is asked to click anything');
  }));
