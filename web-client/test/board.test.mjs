// End-to-end, issue 5 as an operator sees it: a live meeting with three
// rostered rooms, two of which join (room 1's kiosk, room 2's join page) and
// exchange media through the real server. Then:
//  a. /metrics parses as Prometheus text and has non-zero hoinghi_terminal_*
//     figures for both rooms;
//  b. the operator board (/board, an operator account made through the API)
//     shows room 1's figures, marks room 3 absent with a "not full" alarm,
//     follows the language switch, and says so when its stream drops;
//  c. loss injected on room 2 (its Chromium in a network namespace, nftables
//     dropping its UDP) raises a `degraded` alarm that clears when the loss
//     stops — root only, skipped with the reason otherwise;
//  d. room 2 leaves; the attendance CSV, from the board's button and from the
//     API, lists every join and leave.
// As root the server listens on the veth address (plain HTTP, so Chromium is
// told to treat that origin as secure); otherwise on 127.0.0.1.
//
// Run: `node --test test/board.test.mjs` in web-client/ (HOINGHI_BIN,
// CHROMIUM_PATH, DEBUG and SCREENSHOT_DIR are read from the environment).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DEBUG, hoinghiServer, launchBrowser, restClient, eventually, receivesMedia, openTab as openTabIn,
  saveScreenshot, screenshotDir, dumpTabs, assertNoPageErrors,
} from './support.mjs';
import { parsePrometheus } from './prometheus.mjs';
import { makeNetns, netnsUnavailable } from './netns.mjs';

const SCREENSHOT_DIR = screenshotDir('hoinghi-board');
const UI_DEADLINE_MS = 20_000;
/** The board's figures come from reports every 5 s and samples every 5 s. */
const FIGURES_DEADLINE_MS = 45_000;
/** Loss must be seen, last `--alarm-degraded-secs`, and then be gone for 10 s. */
const ALARM_DEADLINE_MS = 90_000;
const LOSS_PERCENT = 20;
const ADMIN_PASSWORD = 'board-test-admin-password';
const OPERATOR = { username: 'truc-ban', password: 'board-test-operator-password', display_name: 'Trực ban kỹ thuật' };
const NAMES = ['Hội trường UBND tỉnh Điện Biên', 'UBND xã Mường Phăng', 'UBND xã Nà Tấu'];

const server = hoinghiServer();
const noNetns = netnsUnavailable();
/** @type {import('./netns.mjs').Netns | null} */
let netns = null;
let baseUrl = '';
let dataDir = '';
/** @type {import('playwright-core').Browser | undefined} */
let browser;
/** Room 2's browser: inside the network namespace when there is one. */
/** @type {import('playwright-core').Browser | undefined} */
let lossyBrowser;
let anyFailure = false;
const { api, apiOk } = restClient(() => baseUrl);

/** @typedef {import('./support.mjs').Tab} Tab */
/** @type {Tab[]} */
const tabs = [];
/** @type {{endpoint: any, credential: string}[]} */
let terms = [];
let meetingId = '';
let operatorToken = '';
/** @type {Tab | undefined} */
let board;

/**
 * @param {import('playwright-core').Browser | undefined} b
 * @param {string} label
 * @param {string} url under baseUrl
 * @param {import('playwright-core').BrowserContextOptions} [options]
 */
function openTab(b, label, url, options = {}) {
  return openTabIn(b, label, `${baseUrl}${url}`, {
    contextOptions: options,
    acceptDialogs: true,
    beforeGoto: async (tab) => tabs.push(tab),
  });
}

/** @param {string} name */
const screenshot = (/** @type {Tab} */ t, name) => saveScreenshot(t.page, SCREENSHOT_DIR, name);

/** @param {number} i room index @returns {string} */
const termId = (i) => terms[i].endpoint.id;

/** The board's meeting card. */
const card = () => /** @type {Tab} */ (board).page.locator(`.meeting[data-meeting-id="${meetingId}"]`);
/** @param {number} i */
const tile = (i) => card().locator(`.tile[data-terminal-id="${termId(i)}"]`);
/**
 * @param {number} i room index
 * @param {string} kind
 * @param {'active' | 'cleared' | ''} [state] any state by default
 */
const alarm = (i, kind, state = '') => /** @type {Tab} */ (board).page.locator(
  `#alarms .alarm[data-kind="${kind}"][data-terminal-id="${termId(i)}"]${state ? `[data-state="${state}"]` : ''}`);

/** What the board shows of every room, and the feed's figures behind it, for failure messages. */
async function boardText() {
  if (!board) return '(no board)';
  return board.page.evaluate(() => {
    const tiles = [...document.querySelectorAll('.tile')].map((t) =>
      `${/** @type {HTMLElement} */ (t).dataset.presence}/${/** @type {HTMLElement} */ (t).dataset.quality}: ${/** @type {HTMLElement} */ (t).innerText.replace(/\s+/g, ' ')}`);
    const alarms = [...document.querySelectorAll('#alarms .alarm')].map((a) =>
      `${/** @type {HTMLElement} */ (a).dataset.state}: ${/** @type {HTMLElement} */ (a).innerText.replace(/\s+/g, ' ')}`);
    const feed = /** @type {any} */ (window).hoinghi.board();
    const figures = (feed?.meetings ?? []).flatMap((/** @type {any} */ m) => m.terminals.map((/** @type {any} */ x) =>
      `${x.name} ${x.presence}/${x.quality}: server ${JSON.stringify(x.server)} client ${JSON.stringify(x.client)}`));
    return `tiles:\n  ${tiles.join('\n  ')}\nalarms:\n  ${alarms.join('\n  ')}\nfeed:\n  ${figures.join('\n  ')}`;
  });
}

before(async () => {
  if (!noNetns) netns = await makeNetns({ tag: 'board' });
  const host = netns?.hostAddr ?? '127.0.0.1';
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-board-'));
  baseUrl = await server.start(dataDir, [
    '--admin-password', ADMIN_PASSWORD,
    '--alarm-degraded-secs', '5',
    '--alarm-not-full-grace-secs', '0',
    // The fake microphone beeps and pauses; a silence alarm here would only be noise.
    '--alarm-silent-secs', '3600',
  ], { host });
  const args = netns ? [`--unsafely-treat-insecure-origin-as-secure=${baseUrl}`] : [];
  browser = await launchBrowser({ args });
  lossyBrowser = netns ? await launchBrowser({ args, executablePath: netns.chromium }) : browser;

  // Three rooms, an operator, and a meeting that started a minute ago with all three on its roster.
  const { token: admin } = await apiOk('POST', '/auth/login', 200, { body: { username: 'admin', password: ADMIN_PASSWORD } });
  const unit = await apiOk('POST', '/units', 201, { token: admin, body: { name: 'Tỉnh Điện Biên', level: 'Tỉnh' } });
  terms = [];
  for (const name of NAMES) terms.push(await apiOk('POST', '/endpoints', 201, { token: admin, body: { unit_id: unit.id, name } }));
  await apiOk('POST', '/staff', 201, { token: admin, body: { ...OPERATOR, role: 'operator' } });
  ({ token: operatorToken } = await apiOk('POST', '/auth/login', 200, {
    body: { username: OPERATOR.username, password: OPERATOR.password },
  }));
  const start = Math.floor(Date.now() / 1000) - 60;
  const meeting = await apiOk('POST', '/meetings', 201, {
    token: admin,
    body: {
      title: 'Giao ban trực tuyến theo dõi chất lượng', agenda: '', start, end: start + 3600,
      host_endpoint_id: termId(0), roster: [termId(0), termId(1), termId(2)], mode: 'open', recurrence: null,
    },
  });
  meetingId = meeting.id;
});

after(async () => {
  for (const t of tabs.splice(0)) await t.context.close().catch(() => {});
  if (lossyBrowser !== browser) await lossyBrowser?.close().catch(() => {});
  await browser?.close().catch(() => {});
  await server.stop();
  await netns?.remove();
  if (anyFailure && !DEBUG) process.stderr.write(server.tail());
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/**
 * Runs a test body; on failure prints every page's state and screenshot.
 * @param {() => Promise<void>} body
 */
async function withDump(body) {
  try {
    await body();
  } catch (err) {
    anyFailure = true;
    if (board) console.error(`===== board =====\n${await boardText().catch(String)}`);
    await dumpTabs(tabs, SCREENSHOT_DIR, (t) => ({
      heading: t.label, shotName: `failure-${t.label.replace(/\W+/g, '-')}`, stats: !t.label.startsWith('board'),
    }));
    throw err;
  }
}

/** @type {Tab | undefined} */
let room1;
/** @type {Tab | undefined} */
let room2;

test('a: after a real call, /metrics parses as Prometheus text and has non-zero figures for both rooms', { timeout: 150_000 }, () =>
  withDump(async () => {
    room1 = await openTab(browser, 'room 1 kiosk', `/kiosk#credential=${encodeURIComponent(terms[0].credential)}`,
      { permissions: ['camera', 'microphone'] });
    // Room 2 through the join page, with a token its device session gets like a kiosk would.
    const { token: device2 } = await apiOk('POST', '/auth/device', 200, { body: { credential: terms[1].credential } });
    const grant = await apiOk('POST', `/me/meetings/${meetingId}/join-token`, 200, { token: device2 });
    room2 = await openTab(lossyBrowser, 'room 2 join page', grant.join_url, { permissions: ['camera', 'microphone'] });
    await Promise.all([receivesMedia(room1), receivesMedia(room2)]);

    const url = await server.metricsUrl();
    let text = '';
    /** @param {string} id */
    const figures = (id) => parsePrometheus(text).samples
      .filter((s) => s.name.startsWith('hoinghi_terminal_') && s.labels.terminal === id);
    await eventually('both rooms have non-zero packet and byte counts in /metrics', async () => {
      text = await (await fetch(url)).text();
      return [0, 1].every((i) => {
        const mine = figures(termId(i));
        return mine.every((s) => s.labels.meeting === meetingId) &&
          mine.some((s) => /packets/.test(s.name) && s.value > 0) && mine.some((s) => /bytes/.test(s.name) && s.value > 0);
      });
    }, FIGURES_DEADLINE_MS, () => `hoinghi_terminal_* lines:\n${text.split('\n').filter((l) => l.includes('hoinghi_terminal_')).join('\n')}`);
    // Strictly parsed, and the room that never joined has no series.
    assert.equal(figures(termId(2)).length, 0, 'no series for the absent room');
    const families = parsePrometheus(text).families;
    for (const f of families.values()) {
      if (f.name.startsWith('hoinghi_terminal_') && f.type === 'counter') {
        assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
      }
    }
  }));

test('b: the operator board shows a joined room\'s figures, marks the absent room, and says when its stream drops', { timeout: 120_000 }, () =>
  withDump(async () => {
    board = await openTab(browser, 'board', '/board', { locale: 'vi-VN', timezoneId: 'America/New_York' });
    const page = board.page;
    await page.getByLabel('Tên đăng nhập').fill(OPERATOR.username);
    await page.getByLabel('Mật khẩu').fill(OPERATOR.password);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await card().waitFor({ timeout: UI_DEADLINE_MS });
    await page.locator('#who').getByText(OPERATOR.display_name).waitFor();
    assert.equal(await page.locator('#feed-status-text').textContent(), 'Trực tiếp');

    // The roster as a picture: 2 of 3 in, room 1 joined with figures, room 3 absent.
    await eventually('the card counts 2/3 in', async () => (await card().locator('.meeting-count').textContent()) === '2/3 đã vào',
      UI_DEADLINE_MS, boardText);
    assert.equal(await card().locator('.meeting-state').textContent(), 'Đang họp');
    const figure = (/** @type {number} */ i, /** @type {string} */ key) =>
      tile(i).locator(`.fig[data-figure="${key}"] .fig-value`).textContent();
    await eventually('room 1\'s tile shows its loss, jitter, bitrate and frame rate', async () =>
      (await tile(0).getAttribute('data-presence')) === 'joined' &&
        /%$/.test(await figure(0, 'loss') ?? '') &&
        /ms$/.test(await figure(0, 'jitter') ?? '') &&
        /↑ [\d,.]+ [kM]bit\/s/.test(await figure(0, 'bitrate') ?? '') &&
        /^\d+$/.test(await figure(0, 'fps') ?? '') &&
        (await tile(0).locator('.chart-bitrate').getAttribute('points') ?? '') !== '',
    FIGURES_DEADLINE_MS, boardText);
    assert.notEqual(await tile(0).getAttribute('data-quality'), 'unknown');
    assert.equal(await tile(0).locator('.tile-host').isVisible(), true, 'room 1 is marked as the host');
    assert.equal(await tile(2).getAttribute('data-presence'), 'absent');
    assert.match(await tile(2).locator('.tile-presence').textContent() ?? '', /^Vắng mặt/);
    assert.equal(await tile(2).locator('.tile-figures').isVisible(), false, 'an absent room has no figures');
    // …and an alarm says the meeting is not full, with its time.
    const notFull = alarm(2, 'not_full');
    await notFull.waitFor({ timeout: UI_DEADLINE_MS });
    assert.equal(await notFull.getAttribute('data-state'), 'active');
    assert.match(await notFull.locator('.alarm-time').textContent() ?? '', /^\d\d:\d\d:\d\d$/);
    await screenshot(board, 'board-live');

    // English on request, and back.
    await page.getByRole('button', { name: 'EN' }).click();
    await eventually('the board speaks English', async () => (await card().locator('.meeting-count').textContent()) === '2/3 joined',
      UI_DEADLINE_MS);
    assert.match(await tile(2).locator('.tile-presence').textContent() ?? '', /^Absent/);
    await page.getByRole('button', { name: 'VI' }).click();

    // No stream: the board says so, keeps retrying, and comes back by itself once it can
    // (reloaded, it keeps its login for the tab; the events route is refused meanwhile).
    const events = '**/api/v1/board/events';
    await page.route(events, (route) => route.abort('connectionreset'));
    try {
      await page.reload();
      await page.locator('#feed-lost').getByText('Mất kết nối, đang thử lại…').waitFor({ timeout: UI_DEADLINE_MS });
      assert.equal(await page.locator('#feed-status').getAttribute('data-state'), 'lost');
      await screenshot(board, 'board-lost');
    } finally {
      await page.unroute(events);
    }
    await page.locator('#feed-lost').waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    assert.equal(await page.locator('#feed-status-text').textContent(), 'Trực tiếp');
    await eventually('the card is back, 2/3 in', async () => (await card().locator('.meeting-count').textContent()) === '2/3 đã vào',
      UI_DEADLINE_MS, boardText);
  }));

test('c: loss injected on room 2 raises a degraded alarm on the board, which clears when the loss stops',
  { timeout: 2 * ALARM_DEADLINE_MS + 30_000, skip: noNetns ? `loss injection ${noNetns}` : false }, () =>
    withDump(async () => {
      assert.ok(netns && board);
      // A call's first seconds on a busy machine can be rough: start from no active alarm for room 2.
      await eventually('room 2 has no active degraded alarm before the loss', async () =>
        (await alarm(1, 'degraded', 'active').count()) === 0, ALARM_DEADLINE_MS, boardText);
      const clearedBefore = await alarm(1, 'degraded', 'cleared').count();
      const lossLevel = () => tile(1).locator('.fig[data-figure="loss"]').getAttribute('data-level');
      try {
        const injectedAt = Date.now();
        await netns.setLoss(LOSS_PERCENT);
        // The alarm raised since the loss began, shown while the tile shows the loss itself.
        await eventually(`room 2 degraded for ${LOSS_PERCENT} % loss, its loss coloured`, async () => {
          const raised = await alarm(1, 'degraded', 'active').evaluateAll((els) =>
            els.map((e) => Date.parse(/** @type {string} */ (e.querySelector('time')?.getAttribute('datetime')))));
          return raised.some((t) => t >= injectedAt - 1_000) &&
            /^(warn|bad)$/.test(await tile(1).getAttribute('data-quality') ?? '') &&
            /^(warn|bad)$/.test(await lossLevel() ?? '');
        }, ALARM_DEADLINE_MS, boardText);
        await screenshot(board, 'board-degraded');
      } finally {
        await netns.clearLoss();
      }
      await eventually('room 2\'s degraded alarm clears once the loss stops', async () =>
        (await alarm(1, 'degraded', 'active').count()) === 0 &&
          (await alarm(1, 'degraded', 'cleared').count()) > clearedBefore, ALARM_DEADLINE_MS, boardText);
      await screenshot(board, 'board-recovered');
    }));

/**
 * @param {string} text a CSV file
 * @returns {string[][]} its rows (RFC 4180 quoting), the header included
 */
function csvRows(text) {
  /** @type {string[][]} */
  const rows = [];
  /** @type {string[]} */
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') field += '"', i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

test('d: the attendance CSV, from the board and from the API, lists every join and leave', { timeout: 90_000 }, () =>
  withDump(async () => {
    assert.ok(board && room2);
    // Room 2 leaves on purpose; the board sees it go.
    await room2.page.getByRole('button', { name: 'Rời phòng' }).click();
    await eventually('room 2 shows as left', async () => (await tile(1).getAttribute('data-presence')) === 'left',
      UI_DEADLINE_MS, boardText);

    const route = `/meetings/${meetingId}/attendance?occurrence=0`;
    /** @type {any} */
    let attendance;
    await eventually('the attendance record has room 2\'s leave', async () => {
      attendance = await apiOk('GET', route, 200, { token: operatorToken });
      return attendance.records.some((/** @type {any} */ r) => r.terminal_id === termId(1) && r.event === 'leave');
    }, UI_DEADLINE_MS, () => JSON.stringify(attendance));

    const csvRes = await fetch(`${baseUrl}/api/v1/meetings/${meetingId}/attendance.csv?occurrence=0`,
      { headers: { authorization: `Bearer ${operatorToken}` } });
    assert.equal(csvRes.status, 200);
    assert.match(csvRes.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/i);
    assert.match(csvRes.headers.get('content-disposition') ?? '', /attachment/);
    const fromApi = Buffer.from(await csvRes.arrayBuffer()).toString('utf8');

    const [download] = await Promise.all([
      board.page.waitForEvent('download'),
      card().getByRole('button', { name: 'Điểm danh (CSV)' }).click(),
    ]);
    assert.match(download.suggestedFilename(), /\.csv$/);
    const fromBoard = await readFile(/** @type {string} */ (await download.path()), 'utf8');

    for (const [where, text] of [['API', fromApi], ['board', fromBoard]]) {
      assert.ok(text.startsWith('\uFEFF'), `the ${where}'s CSV starts with a BOM for Excel`);
      const [header, ...rows] = csvRows(text.slice(1));
      assert.deepEqual(header, ['terminal_id', 'terminal', 'unit', 'event', 'time'], `the ${where}'s CSV header`);
      // Every join, leave and drop of the record, in time order, nothing else.
      assert.deepEqual(rows.map((r) => [r[0], r[3]]), attendance.records.map((/** @type {any} */ r) => [r.terminal_id, r.event]),
        `the ${where}'s CSV has the record's events in order`);
      for (const r of rows) assert.match(r[4], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/, `a Hà Nội time: ${r[4]}`);
      const times = rows.map((r) => Date.parse(r[4]));
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'sorted by time');
      const events = (/** @type {number} */ i) => rows.filter((r) => r[0] === termId(i)).map((r) => r[3]);
      assert.ok(events(0).includes('join'), `room 1 joined: ${events(0)}`);
      assert.equal(events(0).at(-1), 'join', 'room 1 is still in');
      assert.ok(events(1).includes('join'), `room 2 joined: ${events(1)}`);
      assert.equal(events(1).at(-1), 'leave', 'room 2 left last');
      assert.deepEqual(events(2), [], 'room 3 never came');
      assert.equal(rows.find((r) => r[0] === termId(0))?.[1], NAMES[0], 'rooms are named');
    }
    const summary = attendance.summary.find((/** @type {any} */ s) => s.terminal_id === termId(2));
    assert.equal(summary?.first_join, null, 'room 3 has no first join');
    assertNoPageErrors(tabs, (t) => t.label);
  }));
