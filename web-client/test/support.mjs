// Shared helpers for the end-to-end tests (e2e, kiosk, scheduler,
// schedule-to-kiosk): the real `hoinghi` server on port 0, headless Chromium
// with a fake camera and microphone, the REST API, polling with a deadline and
// media statistics. No tests and no side effects at import: `node --test test/`
// loads every file in this directory.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const webClientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(webClientDir, '..');

/** The server binary: `HOINGHI_BIN`, else the debug build in the repository. */
export const HOINGHI_BIN = process.env.HOINGHI_BIN || path.join(repoRoot, 'target/debug/hoinghi');
/** The browser: `CHROMIUM_PATH`, else Debian's Chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** `DEBUG` set: the server's and the pages' output is echoed to stderr as it comes. */
export const DEBUG = Boolean(process.env.DEBUG);

/** How long the server may take to print "serving on". */
export const SERVER_START_MS = 30_000;
/** How long media may take to flow between rooms. */
export const MEDIA_DEADLINE_MS = 45_000;

/** Headless Chromium with a fake camera and microphone and no prompts. */
export const CHROMIUM_ARGS = [
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

const execFileP = promisify(execFile);

/**
 * Where screenshots go: `SCREENSHOT_DIR`, else `fallback` under the temp directory.
 * @param {string} fallback a directory name, e.g. `hoinghi-e2e`
 */
export function screenshotDir(fallback) {
  return process.env.SCREENSHOT_DIR || path.join(os.tmpdir(), fallback);
}

/**
 * A `hoinghi` server process for one test file. Create it at the top of the
 * file, `start()` it in `before()` and `stop()` it in `after()`.
 * @typedef {{
 *   log: {stdout: string, stderr: string},
 *   child: import('node:child_process').ChildProcess | undefined,
 *   start: (dataDir: string, extraArgs?: string[], options?: {host?: string}) => Promise<string>,
 *   metricsUrl: () => Promise<string>,
 *   stop: () => Promise<void>,
 *   tail: (chars?: number) => string,
 * }} HoinghiServer
 */

/**
 * Makes a (not yet started) `hoinghi` server handle.
 * `start` runs it on port 0 (HTTP, media and metrics) and resolves with its
 * base URL (no trailing slash), parsed from the "serving on" line of its stdout.
 * `options.host` (default 127.0.0.1) is the address it listens on and offers
 * for media; any other than loopback is served over plain HTTP (`--tls off`).
 * `metricsUrl` resolves with the URL of its Prometheus metrics, parsed from
 * the "Prometheus metrics on" line.
 * @returns {HoinghiServer}
 */
export function hoinghiServer() {
  /** @type {HoinghiServer} */
  const server = {
    log: { stdout: '', stderr: '' },
    child: undefined,
    tail(chars = 20_000) {
      return `--- server stdout ---\n${server.log.stdout.slice(-chars)}\n--- server stderr ---\n${server.log.stderr.slice(-chars)}`;
    },
    start(dataDir, extraArgs = [], { host = '127.0.0.1' } = {}) {
      const serverLog = server.log;
      return new Promise((resolve, reject) => {
        const args = ['--listen', `${host}:0`, '--media-port', '0', '--metrics-listen', '127.0.0.1:0', '--public-ip', host, '--data-dir', dataDir,
          ...(host.startsWith('127.') ? [] : ['--tls', 'off']), ...extraArgs];
        const child = spawn(HOINGHI_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        server.child = child;
        const timer = setTimeout(() => {
          reject(new Error(`hoinghi did not print "serving on" within ${SERVER_START_MS} ms\n${server.tail()}`));
        }, SERVER_START_MS);
        child.on('error', (err) => {
          clearTimeout(timer);
          reject(new Error(`cannot start ${HOINGHI_BIN}: ${err.message} (build it with cargo build -p signaling)`));
        });
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`hoinghi exited early (code ${code}, signal ${signal})\n${server.tail()}`));
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
    },
    async metricsUrl() {
      let url = '';
      await eventually('the server prints its metrics address', async () => {
        url = /Prometheus metrics on (http:\/\/\S+)/.exec(server.log.stdout)?.[1] ?? '';
        return url !== '';
      }, 5_000, () => server.tail(2_000));
      return url;
    },
    async stop() {
      const child = server.child;
      if (child && child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  return server;
}

/**
 * Launches headless Chromium with {@link CHROMIUM_ARGS}.
 * @param {{args?: string[], executablePath?: string}} [options] more flags; another
 *   executable (e.g. a wrapper that runs Chromium in a network namespace)
 */
export function launchBrowser({ args = [], executablePath = CHROMIUM_PATH } = {}) {
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...args] });
}

/**
 * Runs the `hoinghi` CLI (e.g. `demo-data`) and resolves with its output.
 * @param {string[]} args
 */
export function hoinghiCli(args) {
  return execFileP(HOINGHI_BIN, args);
}

/**
 * A join token from `hoinghi token`.
 * @param {string} dataDir the server's data directory
 * @param {{room: string, identity: string, name: string, ttl?: number}} o
 */
export async function makeToken(dataDir, { room, identity, name, ttl }) {
  const args = ['token', '--data-dir', dataDir, '--room', room, '--identity', identity, '--name', name];
  if (ttl !== undefined) args.push('--ttl', String(ttl));
  const { stdout } = await hoinghiCli(args);
  const token = stdout.trim();
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, `hoinghi token printed no JWT: ${stdout}`);
  return token;
}

/**
 * The claims of a JWT, unverified.
 * @param {string} token
 */
export function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
}

/**
 * @typedef {{token?: string, body?: unknown}} ApiOptions
 */

/**
 * REST helpers for the server at `baseUrl()` (read at each call, since the
 * URL is known only once the server has started).
 * - `api(method, route, options)` resolves with the status and the parsed body (null if none);
 * - `apiOk(method, route, expected, options)` asserts the status and resolves with the body.
 * @param {() => string} baseUrl
 */
export function restClient(baseUrl) {
  /**
   * @param {string} method
   * @param {string} route under /api/v1
   * @param {ApiOptions} [options]
   * @returns {Promise<{status: number, body: any}>}
   */
  async function api(method, route, { token, body } = {}) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl()}/api/v1${route}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  /**
   * @param {string} method @param {string} route @param {number} expected
   * @param {ApiOptions} [options]
   */
  async function apiOk(method, route, expected, options) {
    const res = await api(method, route, options);
    assert.equal(res.status, expected, `${method} ${route}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  return { api, apiOk };
}

/**
 * Hà Nội (UTC+7, no daylight saving) date and time of a unix time.
 * @param {number} unix seconds
 * @returns {{date: string, time: string}} `YYYY-MM-DD` and `HH:MM`
 */
export function hanoi(unix) {
  const iso = new Date((unix + 7 * 3600) * 1000).toISOString();
  return { date: iso.slice(0, 10), time: iso.slice(11, 16) };
}

/**
 * Calls `probe` until it returns true or the deadline passes; never a fixed sleep.
 * @param {string} what described in the failure
 * @param {() => Promise<boolean>} probe
 * @param {number} timeoutMs
 * @param {() => Promise<string> | string} [explain] extra detail for the failure
 */
export async function eventually(what, probe, timeoutMs, explain) {
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

/**
 * A page under test, with what it logged and its last media statistics.
 * @typedef {{label: string, page: import('playwright-core').Page,
 *   context: import('playwright-core').BrowserContext, logs: string[], lastStats: any}} Tab
 */

/**
 * Reads `window.hoinghi.stats()` of a page and keeps it as `lastStats`.
 * @param {{page: import('playwright-core').Page, lastStats: any}} t
 */
export async function statsOf(t) {
  t.lastStats = await t.page.evaluate(() => /** @type {any} */ (window).hoinghi.stats());
  return t.lastStats;
}

/**
 * One line per RTP stream, for failure messages.
 * @param {any} stats what `window.hoinghi.stats()` returned
 * @param {{detailed?: boolean}} [options] `detailed`: also track, loss, bytes, jitter, freezes and codec
 */
export function formatStats(stats, { detailed = false } = {}) {
  if (!stats) return '  (none)';
  const lines = detailed
    ? [
      ...stats.inbound.map(
        (/** @type {any} */ s) =>
          `  in  ${s.kind} from ${s.participantId} (${s.trackId}): packets ${s.packetsReceived}, lost ${s.packetsLost}, ` +
            `frames ${s.framesDecoded}, bytes ${s.bytesReceived}, jitter ${s.jitter}, freezes ${s.freezeCount}, codec ${s.codec}`,
      ),
      ...stats.outbound.map(
        (/** @type {any} */ s) => `  out ${s.kind}: packets ${s.packetsSent}, frames ${s.framesEncoded}, codec ${s.codec}`,
      ),
    ]
    : [
      ...stats.inbound.map((/** @type {any} */ s) =>
        `  in  ${s.kind} from ${s.participantId}: packets ${s.packetsReceived}, frames ${s.framesDecoded}`),
      ...stats.outbound.map((/** @type {any} */ s) => `  out ${s.kind}: packets ${s.packetsSent}, frames ${s.framesEncoded}`),
    ];
  return lines.length ? lines.join('\n') : '  (no RTP streams)';
}

/**
 * Waits until `k` decodes video and receives sound from some other room.
 * @param {{label: string, page: import('playwright-core').Page, lastStats: any}} k
 * @param {string} [who] how the failure names `k` (its label by default)
 */
export async function receivesMedia(k, who = k.label) {
  await eventually(
    `${who} decodes the other room's video and receives its audio`,
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

/**
 * Saves a screenshot of `page` as `dir/name.png`.
 * @param {import('playwright-core').Page} page
 * @param {string} dir
 * @param {string} name
 */
export async function saveScreenshot(page, dir, name) {
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

/**
 * Prints each tab's last stats, console and a screenshot, for a failing test.
 * @param {Tab[]} tabs
 * @param {string} dir where the screenshots go
 * @param {(t: Tab) => {heading: string, shotName: string, stats?: boolean}} name the heading of `t`'s
 *   section, its screenshot's name, and whether to read its stats again (true by default)
 */
export async function dumpTabs(tabs, dir, name) {
  await mkdir(dir, { recursive: true });
  for (const t of tabs) {
    const { heading, shotName, stats = true } = name(t);
    const shot = path.join(dir, `${shotName}.png`);
    await t.page.screenshot({ path: shot }).catch(() => {});
    if (stats) await statsOf(t).catch(() => {});
    console.error(`===== ${heading} =====\nstats:\n${formatStats(t.lastStats)}\n` +
      `console:\n  ${t.logs.slice(-60).join('\n  ')}\nscreenshot: ${shot}\n`);
  }
}

/**
 * Fails unless no tab has logged an uncaught page error.
 * @param {Tab[]} tabs
 * @param {(t: Tab) => string} name how the assertion names `t`
 */
export function assertNoPageErrors(tabs, name) {
  for (const t of tabs) {
    const errors = t.logs.filter((l) => l.startsWith('[pageerror]'));
    assert.deepEqual(errors, [], `${name(t)} has no uncaught page errors`);
  }
}

/**
 * Opens `url` in a fresh browser context (its own storage, like its own PC)
 * and records the page's console and uncaught errors in `logs`.
 * @param {import('playwright-core').Browser | undefined} browser
 * @param {string} label
 * @param {string} url absolute
 * @param {{
 *   contextOptions?: import('playwright-core').BrowserContextOptions,
 *   logPrefix?: string,
 *   acceptDialogs?: boolean,
 *   logFailedRequests?: boolean,
 *   beforeGoto?: (tab: Tab) => Promise<unknown>,
 * }} [options] `logPrefix`: how DEBUG output names the page (its label by default)
 * @returns {Promise<Tab>} the tab, already navigating to `url`'s load
 */
export async function openTab(browser, label, url, options = {}) {
  assert.ok(browser);
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, ...options.contextOptions });
  const page = await context.newPage();
  /** @type {Tab} */
  const tab = { label, page, context, logs: [], lastStats: null };
  const prefix = options.logPrefix ?? label;
  const record = (/** @type {string} */ line) => {
    tab.logs.push(line);
    if (DEBUG) process.stderr.write(`${prefix}: ${line}\n`);
  };
  page.on('console', (msg) => record(`[${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => record(`[pageerror] ${err.stack ?? err.message}`));
  if (options.logFailedRequests) {
    page.on('requestfailed', (req) => record(`[requestfailed] ${req.url()} ${req.failure()?.errorText}`));
  }
  if (options.acceptDialogs) page.on('dialog', (dialog) => void dialog.accept());
  if (options.beforeGoto) await options.beforeGoto(tab);
  await page.goto(url);
  return tab;
}
