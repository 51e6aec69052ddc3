// End-to-end, the whole path of issue 3 in one test: a scheduler logs into
// /scheduler through the form and schedules, through the UI, a meeting in two
// minutes with two room terminals; two kiosks holding only those terminals'
// device credentials join it by themselves (no clicks) and exchange media; a
// third terminal, not on the roster, stays on its waiting screen and is refused
// a join token (403 not_rostered). Real `hoinghi` server, real headless Chromium.
//
// Run: `npm test` in web-client/ (HOINGHI_BIN, CHROMIUM_PATH, DEBUG and
// SCREENSHOT_DIR are read from the environment). The server start-up, browser
// and polling helpers come from support.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DEBUG, hoinghiServer, launchBrowser, restClient, hanoi, eventually, receivesMedia, openTab as openTabIn,
  saveScreenshot, screenshotDir, dumpTabs, assertNoPageErrors,
} from './support.mjs';

const SCREENSHOT_DIR = screenshotDir('hoinghi-schedule-to-kiosk');
const UI_DEADLINE_MS = 20_000;
const ADMIN_PASSWORD = 'schedule-to-kiosk-admin-password';

const server = hoinghiServer();
let baseUrl = '';
let dataDir = '';
/** @type {import('playwright-core').Browser | undefined} */
let browser;
let anyFailure = false;
const { api, apiOk } = restClient(() => baseUrl);

// ---- pages (the scheduler's and the kiosks'), each in its own browser context ----

/** @typedef {import('./support.mjs').Tab} Tab */

/** @type {Tab[]} */
const tabs = [];

/**
 * Opens `url` in a fresh browser context (its own storage, like its own PC).
 * @param {string} label
 * @param {string} url under baseUrl
 * @param {import('playwright-core').BrowserContextOptions} [options]
 * @returns {Promise<Tab>}
 */
function openTab(label, url, options = {}) {
  return openTabIn(browser, label, `${baseUrl}${url}`, {
    contextOptions: options,
    acceptDialogs: true,
    beforeGoto: async (tab) => tabs.push(tab),
  });
}

/** @param {string} label @param {string} credential */
const openKiosk = (label, credential) =>
  openTab(`kiosk ${label}`, `/kiosk#credential=${encodeURIComponent(credential)}`, { permissions: ['camera', 'microphone'] });

/** @param {Tab} k @returns {Promise<string>} `setup` or the kiosk's phase */
const phaseOf = (k) => k.page.evaluate(() => /** @type {any} */ (window).hoinghi.phase());

/** @param {Tab} t @param {string} name */
function screenshot(t, name) {
  return saveScreenshot(t.page, SCREENSHOT_DIR, name);
}

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-sched-kiosk-'));
  baseUrl = await server.start(dataDir, ['--admin-password', ADMIN_PASSWORD]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.stop();
  if (anyFailure && !DEBUG) process.stderr.write(server.tail());
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

      assertNoPageErrors(tabs, (t) => t.label);
    } catch (err) {
      anyFailure = true;
      await dumpTabs(tabs, SCREENSHOT_DIR, (t) => ({
        heading: t.label,
        shotName: `failure-${t.label.replace(/\s+/g, '-')}`,
        stats: t.label.startsWith('kiosk'),
      }));
      throw err;
    } finally {
      for (const t of tabs.splice(0)) await t.context.close().catch(() => {});
    }
  });
