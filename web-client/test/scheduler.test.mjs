// The scheduler page in real headless Chromium against the real `hoinghi`
// server (port 0, a demo province seeded with `hoinghi demo-data`): log in
// through the form, register a terminal and see its credential once, schedule
// a meeting with two rooms, find it through the API and in the week view, and
// see a double booking refused with a message naming the meeting and the room.
//
// Run: `npm test` in web-client/ (HOINGHI_BIN, CHROMIUM_PATH, DEBUG and
// SCREENSHOT_DIR are read from the environment). The server start-up and the
// browser come from support.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DEBUG, hoinghiServer, hoinghiCli, launchBrowser, restClient, hanoi, saveScreenshot, screenshotDir,
} from './support.mjs';

const SCREENSHOT_DIR = screenshotDir('hoinghi-scheduler');
const UI_DEADLINE_MS = 15_000;
const ADMIN_PASSWORD = 'admin-pass-scheduler-test';

const server = hoinghiServer();
let baseUrl = '';
let dataDir = '';
/** @type {import('playwright-core').Browser | undefined} */
let browser;
let anyFailure = false;
const { api } = restClient(() => baseUrl);

/**
 * The REST API as the test sees it, with the admin's own session.
 * @param {string} method
 * @param {string} route under /api/v1
 * @param {string | null} token
 * @param {unknown} [body]
 */
function rest(method, route, token, body) {
  return api(method, route, { token: token ?? undefined, body });
}

before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'hoinghi-sched-'));
  await hoinghiCli(['demo-data', '--data-dir', dataDir, '--credentials-file', path.join(dataDir, 'demo-credentials.tsv')]);
  baseUrl = await server.start(dataDir, ['--admin-password', ADMIN_PASSWORD]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.stop();
  if (anyFailure) console.error(server.tail());
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('a scheduler logs in, registers a room, schedules, edits and cancels a meeting, and is told of a double booking', async () => {
  assert.ok(browser);
  // A browser in another time zone: what is entered and shown must still be Hà Nội time.
  const context = await browser.newContext({
    viewport: { width: 1280, height: 720 },
    locale: 'vi-VN',
    timezoneId: 'America/New_York',
  });
  const page = await context.newPage();
  /** @type {string[]} */
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
  if (DEBUG) page.on('console', (m) => process.stderr.write(`page: [${m.type()}] ${m.text()}\n`));
  page.on('dialog', (d) => void d.accept());
  const shot = (/** @type {string} */ name) => saveScreenshot(page, SCREENSHOT_DIR, name);

  try {
    // ---- log in through the form: a wrong password first ----
    await page.goto(`${baseUrl}/scheduler`);
    await page.getByLabel('Tên đăng nhập').fill('admin');
    await page.getByLabel('Mật khẩu').fill('not-the-password');
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByText('Sai tên đăng nhập hoặc mật khẩu.').waitFor({ timeout: UI_DEADLINE_MS });
    await page.getByLabel('Mật khẩu').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.locator('#org-tree').getByText('Hội trường UBND tỉnh').waitFor({ timeout: UI_DEADLINE_MS });
    await shot('scheduler-1-tree');

    const login = await rest('POST', '/auth/login', null, { username: 'admin', password: ADMIN_PASSWORD });
    assert.equal(login.status, 200);
    const token = login.body.token;
    const endpoints = /** @type {{id: string, name: string}[]} */ ((await rest('GET', '/endpoints', token)).body);
    const idOf = (/** @type {string} */ name) => {
      const e = endpoints.find((x) => x.name === name);
      assert.ok(e, `demo data has ${name}`);
      return e.id;
    };
    const hall = idOf('Hội trường UBND tỉnh');
    const partyRoom = idOf('Phòng họp Tỉnh ủy');
    const councilRoom = idOf('Phòng họp HĐND tỉnh');

    // ---- a new terminal: its credential is shown once, and it works ----
    await page.getByRole('button', { name: '+ Điểm cầu' }).click();
    await page.getByLabel('Tên điểm cầu').fill('Phòng họp thử nghiệm');
    await page.getByLabel('Địa điểm').fill('Tầng 3');
    await page.getByLabel(/Băng thông tối đa/).fill('2500');
    await page.locator('#terminal-form').getByRole('button', { name: 'Lưu' }).click();
    const credentialDialog = page.locator('#credential-dialog');
    await credentialDialog.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    await credentialDialog.getByText('sẽ không được hiển thị lại').waitFor();
    const credential = await page.locator('#credential-value').inputValue();
    assert.match(credential, /^hnd_/);
    await shot('scheduler-2-credential');
    const device = await rest('POST', '/auth/device', null, { credential });
    assert.equal(device.status, 200, 'the credential shown logs the terminal in');
    assert.equal(device.body.endpoint.name, 'Phòng họp thử nghiệm');
    assert.equal(device.body.endpoint.bitrate_cap_kbps, 2500);
    await credentialDialog.getByRole('button', { name: 'Tôi đã lưu mã' }).click();
    assert.equal(await page.locator('#credential-value').inputValue(), '', 'the credential is forgotten once closed');
    await page.locator('#org-tree').getByText('Phòng họp thử nghiệm').waitFor({ timeout: UI_DEADLINE_MS });

    // ---- schedule a meeting for today, in about five minutes, with two rooms ----
    const start = Math.ceil(Date.now() / 60_000) * 60 + 5 * 60;
    const local = hanoi(start);
    let end = start + 30 * 60;
    if (hanoi(end).date !== local.date) end = start + (23 * 60 + 59 - (+local.time.slice(0, 2) * 60 + +local.time.slice(3))) * 60;
    const title = 'Giao ban trực tuyến thử nghiệm';

    await page.getByRole('button', { name: '+ Lên lịch họp' }).click();
    const dialog = page.locator('#meeting-dialog');
    await dialog.waitFor({ state: 'visible' });
    await page.getByLabel('Tên cuộc họp').fill(title);
    await page.getByLabel('Nội dung / chương trình').fill('Kiểm tra kết nối các điểm cầu');
    await page.locator('#meeting-date').fill(local.date);
    await page.locator('#meeting-start').fill(local.time);
    await page.locator('#meeting-end').fill(hanoi(end).time);
    await page.getByLabel('Hình thức').selectOption({ label: 'Chỉ đạo' });
    const roster = page.locator('#roster-tree');
    await roster.getByRole('checkbox', { name: 'Hội trường UBND tỉnh' }).check();
    await roster.getByRole('checkbox', { name: 'Phòng họp Tỉnh ủy' }).check();
    await page.getByText('Điểm cầu tham gia (2 đã chọn)').waitFor();
    await page.getByLabel('Điểm cầu chủ trì').selectOption({ label: 'Hội trường UBND tỉnh' });
    await shot('scheduler-3-form');
    await dialog.getByRole('button', { name: 'Lên lịch', exact: true }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    await page.getByText(`Đã lưu cuộc họp «${title}».`).waitFor({ timeout: UI_DEADLINE_MS });

    // The server has it, with that roster, host, mode and time.
    const listed = await rest('GET', `/meetings?from=${start - 3600}&to=${start + 3600}`, token);
    assert.equal(listed.status, 200);
    const ours = listed.body.filter((/** @type {any} */ o) => o.title === title);
    assert.equal(ours.length, 1, `one occurrence of the meeting: ${JSON.stringify(listed.body)}`);
    assert.deepEqual([...ours[0].roster].sort(), [hall, partyRoom].sort());
    assert.equal(ours[0].host_endpoint_id, hall);
    assert.equal(ours[0].mode, 'directive');
    assert.equal(ours[0].occurrence.start, start, 'the time entered in Hà Nội time is the time stored');
    assert.equal(ours[0].occurrence.end, end);

    // The week view shows it on its day.
    const block = page.locator(`.week-day[data-date="${local.date}"] .week-meeting`, { hasText: title });
    await block.waitFor({ timeout: UI_DEADLINE_MS });
    assert.match(await block.innerText(), new RegExp(local.time));
    await shot('scheduler-4-week');

    // ---- a second meeting overlapping it with one of the same rooms is refused ----
    await page.getByRole('button', { name: '+ Lên lịch họp' }).click();
    await dialog.waitFor({ state: 'visible' });
    await page.getByLabel('Tên cuộc họp').fill('Họp trùng giờ');
    await page.locator('#meeting-date').fill(local.date);
    await page.locator('#meeting-start').fill(local.time);
    await page.locator('#meeting-end').fill(hanoi(end).time);
    await roster.getByRole('checkbox', { name: 'Phòng họp HĐND tỉnh' }).check();
    await roster.getByRole('checkbox', { name: 'Phòng họp Tỉnh ủy' }).check();
    await page.getByLabel('Điểm cầu chủ trì').selectOption({ label: 'Phòng họp HĐND tỉnh' });
    await dialog.getByRole('button', { name: 'Lên lịch', exact: true }).click();
    const error = page.locator('#meeting-error');
    await error.waitFor({ state: 'visible', timeout: UI_DEADLINE_MS });
    const message = await error.innerText();
    assert.match(message, /Trùng lịch/);
    assert.ok(message.includes(title), `the message names the meeting: ${message}`);
    assert.ok(message.includes('Phòng họp Tỉnh ủy'), `the message names the room: ${message}`);
    assert.ok(!message.includes('Phòng họp HĐND tỉnh'), `only the clashing room is named: ${message}`);
    assert.ok(await dialog.isVisible(), 'the form stays open to be corrected');
    await shot('scheduler-5-conflict');
    const after = await rest('GET', `/meetings?from=${start - 3600}&to=${start + 3600}&endpoint_id=${councilRoom}`, token);
    assert.deepEqual(after.body, [], 'nothing was booked for the refused meeting');
    await dialog.getByRole('button', { name: 'Đóng' }).click();

    // ---- the week moves ----
    await page.getByRole('button', { name: 'Tuần sau ›' }).click();
    await block.waitFor({ state: 'detached', timeout: UI_DEADLINE_MS });
    await page.getByRole('button', { name: 'Tuần này' }).click();
    await block.waitFor({ timeout: UI_DEADLINE_MS });

    // ---- edit it: a new title, repeating daily for three days ----
    const meetingId = ours[0].meeting_id;
    const renamed = 'Giao ban trực tuyến hằng ngày';
    const lastDay = hanoi(start + 2 * 86400).date;
    await block.click();
    await dialog.getByRole('heading', { name: 'Sửa cuộc họp' }).waitFor({ timeout: UI_DEADLINE_MS });
    assert.equal(await page.getByLabel('Tên cuộc họp').inputValue(), title);
    assert.ok(await roster.getByRole('checkbox', { name: 'Phòng họp Tỉnh ủy' }).isChecked(), 'the roster is shown');
    assert.equal(await page.getByLabel('Điểm cầu chủ trì').inputValue(), hall);
    await page.getByLabel('Tên cuộc họp').fill(renamed);
    await page.getByLabel('Lặp lại').selectOption({ label: 'Hằng ngày' });
    await page.locator('#meeting-until').fill(lastDay);
    await dialog.getByRole('button', { name: 'Lưu thay đổi' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    let stored = (await rest('GET', `/meetings/${meetingId}`, token)).body;
    assert.equal(stored.title, renamed);
    assert.deepEqual({ freq: stored.recurrence.freq, until: stored.recurrence.until }, { freq: 'daily', until: lastDay });

    // ---- call off today's sitting only ----
    const todayBlock = page.locator(`.week-day[data-date="${local.date}"] .week-meeting`, { hasText: renamed });
    await todayBlock.click();
    await dialog.getByRole('button', { name: /^Huỷ buổi ngày/ }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    await todayBlock.waitFor({ state: 'detached', timeout: UI_DEADLINE_MS });
    stored = (await rest('GET', `/meetings/${meetingId}`, token)).body;
    assert.deepEqual(stored.cancelled_occurrences, [local.date]);
    assert.equal(stored.cancelled, false);

    // ---- call off the whole meeting from tomorrow's sitting ----
    const tomorrow = hanoi(start + 86400).date;
    if (new Date(`${tomorrow}T00:00:00Z`).getUTCDay() === 1) await page.getByRole('button', { name: 'Tuần sau ›' }).click();
    const tomorrowBlock = page.locator(`.week-day[data-date="${tomorrow}"] .week-meeting`, { hasText: renamed });
    await tomorrowBlock.click();
    await dialog.getByRole('button', { name: 'Huỷ cuộc họp' }).click();
    await dialog.waitFor({ state: 'hidden', timeout: UI_DEADLINE_MS });
    await page.locator(`.week-day[data-date="${tomorrow}"] .week-meeting.status-cancelled`).waitFor({ timeout: UI_DEADLINE_MS });
    stored = (await rest('GET', `/meetings/${meetingId}`, token)).body;
    assert.equal(stored.cancelled, true);
    await shot('scheduler-6-cancelled');

    // ---- a session the server no longer accepts goes back to the login form ----
    await page.evaluate(() =>
      sessionStorage.setItem('hoinghi.staff.session',
        JSON.stringify({ token: 'not-a-token', expires_at: 4_000_000_000, role: 'administrator', display_name: 'x' })),
    );
    await page.reload();
    await page.getByText('Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại.').waitFor({ timeout: UI_DEADLINE_MS });
    assert.ok(await page.locator('#login-form').isVisible());
    await page.getByLabel('Tên đăng nhập').fill('admin');
    await page.getByLabel('Mật khẩu').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.locator('#org-tree').getByText('Hội trường UBND tỉnh').waitFor({ timeout: UI_DEADLINE_MS });

    // ---- and the page speaks English on request ----
    await page.locator('#lang-switch').click();
    await page.getByRole('button', { name: '+ Schedule a meeting' }).waitFor();
    await page.getByText('Monday').waitFor();

    assert.deepEqual(pageErrors, [], 'no uncaught page errors');
  } catch (err) {
    anyFailure = true;
    await shot('scheduler-failure').catch(() => {});
    throw err;
  } finally {
    await context.close().catch(() => {});
  }
});
