// End-to-end, the whole path of issue 3 in one test: a scheduler logs into
// /scheduler through the form and schedules, through the UI, a meeting in two
// minutes with two room terminals; two kiosks holding only those terminals'
// device credentials join it by themselves (no clicks) and exchange media; a
// third terminal, not on the roster, stays on its waiting screen and is refused
// a join token (403 not_rostered). Real `hoinghi` server, real headless Chromium.
//
// Run: `npm test` in web-client/ (HOINGHI_BIN, CHROMIUM_PATH, DEBUG and
// SCREENSHOT_DIR are read from the environment). The server start-up, browser
// and polling helpers are copied from kiosk.test.mjs and scheduler.test.mjs
// (those files export nothing), deliberately duplicated rather than shared.

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
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || path.join(os.tmpdir(), 'hoinghi-schedule-to-kiosk');

const SERVER_START_MS = 30_000;
const MEDIA_DEADLINE_MS = 45_000;
const UI_DEADLINE_MS = 20_000;
const ADMIN_PASSWORD = 'schedule-to-kiosk-admin-password';

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
      '--admin-password', ADMIN_PASSWORD];
    const child = spawn(HOINGHI_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    const timer = setTimeout(() => {
      reject(new Error(`hoinghi did not print "serving on" within ${SERVER_START_MS} ms\n${tail()}`));
    }, SERVER_START_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${HOINGHI_BIN}: ${err.message} (build it with cargo build -p signaling)`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`hoinghi exited early (code ${code}, signal ${signal})\n${tail()}`));
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

function tail(chars = 20_000) {
  return `--- server stdout ---\n${serverLog.stdout.slice(-chars)}\n--- server stderr ---\n${serverLog.stderr.slice(-chars)}`;
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

/** Hà Nội (UTC+7, no daylight saving) date and time of a unix time. */
function hanoi(/** @type {number} */ unix) {
  const iso = new Date((unix + 7 * 3600) * 1000).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
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

// ---- pages (the scheduler's and the kiosks'), each in its own browser context ----

/**
 * @typedef {{label: string, page: import('playwright-core').Page,
 *   context: import('playwright-core').BrowserContext, logs: string[], lastStats: any}} Tab
 */

/** @type {Tab[]} */
const tabs = [];

/**
 * Opens `url` in a fresh browser context (its own storage, like its own PC).
 * @param {string} label
 * @param {string} url under baseUrl
 * @param {import('playwright-core').BrowserContextOptions} [options]
 * @returns {Promise<Tab>}
 */
async function openTab(label, url, options = {}) {
  assert.ok(browser);
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, ...options });
  const page = await context.newPage();
  /** @type {Tab} */
  const tab = { label, page, context, logs: [], lastStats: null };
  const record = (/** @type {string} */ line) => {
    tab.logs.push(line);
    if (DEBUG) process.stderr.write(`${label}: ${line}\n`);
  };
  page.on('console', (msg) => record(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => record(`[pageerror] ${err.stack ?? err.message}`));
  page.on('dialog', (dialog) => void dialog.accept());
  tabs.push(tab);
  await page.goto(`${baseUrl}${url}`);
  return tab;
}

/** @param {string} label @param {string} credential */
const openKiosk = (label, credential) =>
  openTab(`kiosk ${label}`, `/kiosk#credential=${encodeURIComponent(credential)}`, { permissions: ['camera', 'microphone'] });

/** @param {Tab} k @returns {Promise<string>} `setup` or the kiosk's phase */
const phaseOf = (k) => k.page.evaluate(() => /** @type {any} */ (window).hoinghi.phase());

/** @param {Tab} k */
async function statsOf(k) {
  k.lastStats = await k.page.evaluate(() => /** @type {any} */ (window).hoinghi.stats());
  return k.lastStats;
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
 * @param {Tab} k
 */
async function receivesMedia(k) {
  await eventually(
    `${k.label} decodes the other room's video and receives its audio`,
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

/** @param {Tab} t @param {string} name */
async function screenshot(t, name) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await t.page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-sched-kiosk-'));
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
  if (anyFailure && !DEBUG) process.stderr.write(tail());
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a meeting scheduled in the scheduler UI is joined by its two rooms\' kiosks on their own; a third room is refused',
  { timeout: 180_000 }, async () => {
    try {
      // ---- three registered room terminals, their credentials in hand ----
      const { token: admin } = await apiOk('POST', '/auth/login', 200, {
        body: { username: 'admin', password: ADMIN_PASSWORD },
      });
      const unit = await apiOk('POST', '/units', 201, { token: admin, body: { name: 'Tỉnh Lai Châu', level: 'Tỉnh' } });
      const names = ['Hội trường UBND tỉnh Lai Châu', 'UBND xã Bản Bo', 'UBND xã Nậm Tăm'];
      /** @type {{endpoint: any, credential: string}[]} */
      const terms = [];
      for (const name of names) {
        terms.push(await apiOk('POST', '/endpoints', 201, { token: admin, body: { unit_id: unit.id, name } }));
      }
      const [t1, t2, t3] = terms;

      // ---- the scheduler logs in through the form ----
      const sched = await openTab('scheduler', '/scheduler', { locale: 'vi-VN', timezoneId: 'America/New_York' });
      const page = sched.page;
      await page.getByLabel('Tên đăng nhập').fill('admin');
      await page.getByLabel('Mật khẩu').fill(ADMIN_PASSWORD);
      await page.getByRole('button', { name: 'Đăng nhập' }).click();
      await page.locator('#org-tree').getByText(names[0]).waitFor({ timeout: UI_DEADLINE_MS });

      // ---- and schedules, through the UI, a meeting in about two minutes with rooms 1 (host) and 2 ----
      const start = Math.ceil(Date.now() / 60_000) * 60 + 2 * 60;
      const local = hanoi(start);
      let end = start + 30 * 60;
      if (hanoi(end).date !== local.date) end = start + (23 * 60 + 59 - (+local.time.slice(0, 2) * 60 + +local.time.slice(3))) * 60;
      const title = 'Giao ban trực tuyến từ lịch họp';
      await page.getByRole('button', { name: '+ Lên lịch họp' }).click();
      const dialog = page.locator('#meeting-dialog');
      await dialog.waitFor({ state: 'visible' });
      await page.getByLabel('Tên cuộc họp').fill(title);
      await page.getByLabel('Nội dung / chương trình').fill('Kiểm tra điểm cầu');
      await page.locator('#meeting-date').fill(local.date);
      await page.locator('#meeting-start').fill(local.time);
      await page.locator('#meeting-end').fill(hanoi(end).time);
      await page.getByLabel('Hình thức').selectOption({ label: 'Thảo luận có điều khiển' });
      const roster = page.locator('#roster-tree');
      await roster.getByRole('checkbox', { name: names[0] }).check();
      await roster.getByRole('checkbox', { name: names[1] }).check();
      await page.getByText('Điểm cầu tham gia (2 đã chọn)').waitFor();
      await page.getByLabel('Điểm cầu chủ trì').selectOption({ label: names[0] });
      await dialog.getByRole('button', { name: 'Lên lịch', exact: true }).click();
      await dialog.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
      await page.getByText(`Đã lưu cuộc họp «${title}».`).waitFor({ timeout: UI_DEADLINE_MS });
      await screenshot(sched, 'scheduler-scheduled');

      // The server has exactly that meeting: roster 1 and 2, host 1, at the time entered.
      const listed = await apiOk('GET', `/meetings?from=${start - 3600}&to=${start + 3600}`, 200, { token: admin });
      const ours = listed.filter((/** @type {any} */ o) => o.title === title);
      assert.equal(ours.length, 1, `one occurrence of the meeting: ${JSON.stringify(listed)}`);
      assert.deepEqual([...ours[0].roster].sort(), [t1.endpoint.id, t2.endpoint.id].sort());
      assert.equal(ours[0].host_endpoint_id, t1.endpoint.id);
      assert.equal(ours[0].mode, 'controlled_discussion');
      assert.equal(ours[0].occurrence.start, start, 'the time entered in Hà Nội time is the time stored');
      const meetingId = ours[0].meeting_id;

      // ---- three kiosks, given only their credentials; nobody clicks anything ----
      const k1 = await openKiosk('1', t1.credential);
      const k2 = await openKiosk('2', t2.credential);
      const k3 = await openKiosk('3', t3.credential);

      // 1 and 2 join by themselves (the pre-meeting window is open) and wait for the chair.
      for (const k of [k1, k2]) {
        await eventually(`${k.label} is in the call before the start`, async () => (await phaseOf(k)) === 'waiting_chair',
          UI_DEADLINE_MS, async () => `phase: ${await phaseOf(k).catch(String)}`);
        await k.page.locator('#chair-banner').waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
      }
      // Each decodes the other's video and receives its audio.
      await Promise.all([receivesMedia(k1), receivesMedia(k2)]);
      const rosterNames = async (/** @type {Tab} */ k) =>
        (await k.page.evaluate(() => /** @type {any} */ (window).hoinghi.roster())).map((/** @type {any} */ r) => r.name).sort();
      const expected = JSON.stringify([names[0], names[1]].sort());
      await eventually('both kiosks list both rooms', async () =>
        JSON.stringify(await rosterNames(k1)) === expected && JSON.stringify(await rosterNames(k2)) === expected,
      UI_DEADLINE_MS);
      await screenshot(k1, 'kiosk-1-in-call');
      await screenshot(k2, 'kiosk-2-in-call');

      // ---- 3 is not on the roster: its waiting screen, no meeting, no call; and the server refuses it ----
      await eventually('kiosk 3 shows no meeting', async () => (await phaseOf(k3)) === 'idle', UI_DEADLINE_MS,
        async () => `phase: ${await phaseOf(k3).catch(String)}`);
      assert.ok(await k3.page.locator('#no-meeting').isVisible(), 'kiosk 3 says there is no meeting');
      assert.ok(await k3.page.locator('#clock-time').isVisible(), 'kiosk 3 shows the clock');
      assert.equal(await k3.page.evaluate(() => /** @type {any} */ (window).hoinghi.session), null);
      await screenshot(k3, 'kiosk-3-waiting');
      const { token: device3 } = await apiOk('POST', '/auth/device', 200, { body: { credential: t3.credential } });
      const refused = await api('POST', `/me/meetings/${meetingId}/join-token`, { token: device3 });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'not_rostered');
      // Still nothing on its screen after the refusal.
      assert.equal(await phaseOf(k3), 'idle');

      for (const t of tabs) {
        const errors = t.logs.filter((l) => l.startsWith('[pageerror]'));
        assert.deepEqual(errors, [], `${t.label} has no uncaught page errors`);
      }
    } catch (err) {
      anyFailure = true;
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      for (const t of tabs) {
        const shot = path.join(SCREENSHOT_DIR, `failure-${t.label.replace(/\s+/g, '-')}.png`);
        await t.page.screenshot({ path: shot }).catch(() => {});
        if (t.label.startsWith('kiosk')) await statsOf(t).catch(() => {});
        console.error(`===== ${t.label} =====\nstats:\n${formatStats(t.lastStats)}\n` +
          `console:\n  ${t.logs.slice(-60).join('\n  ')}\nscreenshot: ${shot}\n`);
      }
      throw err;
    } finally {
      for (const t of tabs.splice(0)) await t.context.close().catch(() => {});
    }
  });
