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
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DEBUG, hoinghiServer, launchBrowser, restClient, eventually, receivesMedia as receivesMediaOf,
  saveScreenshot, screenshotDir, dumpTabs, assertNoPageErrors, openTab,
} from './support.mjs';

const SCREENSHOT_DIR = screenshotDir('hoinghi-e2e');
const UI_DEADLINE_MS = 20_000;
const ADMIN_PASSWORD = 'kiosk-test-admin-password';

const server = hoinghiServer();
let baseUrl = '';
let dataDir = '';
/** @type {import('playwright-core').Browser | undefined} */
let browser;
let anyFailure = false;
const { api, apiOk } = restClient(() => baseUrl);

// ---- kiosks ----

/** @typedef {import('./support.mjs').Tab} Kiosk */

/** @type {Kiosk[]} */
const kiosks = [];

/**
 * Opens a kiosk in its own browser context (its own storage, like its own PC).
 * @param {string} label
 * @param {string} fragment after `/kiosk#`, e.g. `credential=hnd_…`; empty for none
 * @returns {Promise<Kiosk>}
 */
function openKiosk(label, fragment) {
  return openTab(browser, label, `${baseUrl}/kiosk${fragment ? `#${fragment}` : ''}`, {
    contextOptions: { permissions: ['camera', 'microphone'] },
    logPrefix: `kiosk ${label}`,
    acceptDialogs: true,
    beforeGoto: async (k) => kiosks.push(k),
  });
}

/** @param {Kiosk} k @returns {Promise<string>} `setup` or the kiosk's phase */
const phaseOf = (k) => k.page.evaluate(() => /** @type {any} */ (window).hoinghi.phase());

/**
 * Waits until kiosk `k` decodes video and receives sound from some other room.
 * @param {Kiosk} k
 */
function receivesMedia(k) {
  return receivesMediaOf(k, `kiosk ${k.label}`);
}

/** @param {Kiosk} k @param {string} name */
function screenshot(k, name) {
  return saveScreenshot(k.page, SCREENSHOT_DIR, name);
}

/**
 * Runs a test body; on failure prints what each kiosk saw.
 * @param {() => Promise<void>} body
 */
async function withDiagnostics(body) {
  try {
    await body();
    assertNoPageErrors(kiosks, (k) => `kiosk ${k.label}`);
  } catch (err) {
    anyFailure = true;
    await dumpTabs(kiosks, SCREENSHOT_DIR, (k) => ({ heading: `kiosk ${k.label}`, shotName: `kiosk-failure-${k.label}` }));
    throw err;
  }
  for (const k of kiosks.splice(0)) await k.context.close().catch(() => {});
}

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-kiosk-'));
  baseUrl = await server.start(dataDir, [
    '--admin-password', ADMIN_PASSWORD,
    // No grace after the end, so that a short meeting ends within the test.
    '--join-grace-min', '0']);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.stop();
  if (anyFailure && !DEBUG) process.stderr.write(server.tail());
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
