// The kiosk's autopilot (js/kiosk.js) against a fake server and a fake clock:
// when it joins, when it leaves, and what it does when the credential is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kiosk, phaseOf, leaveAt, delayUntil } from '../js/kiosk.js';
import { ApiError } from '../js/device.js';
import { credentialFromInput, timeLeft } from '../js/kiosk-view.js';

const START = 1_900_000_000;
const END = START + 3600;
const next = (over = {}) => ({
  meeting: { id: 'm1', title: 'Giao ban', agenda: '', host_endpoint_id: 'e1', roster: ['e1', 'e2'], mode: 'open' },
  occurrence: { index: 0, start: START, end: END, start_local: '', end_local: '', local_date: '', status: 'scheduled' },
  join_opens: START - 3600,
  join_closes: END + 900,
  joinable: true,
  ...over,
});
const grant = { token: 'jwt', room: 'm1:0', role: /** @type {const} */ ('host'), meeting_id: 'm1',
  occurrence_start: START, occurrence_end: END, not_before: START - 3600, expires_at: END + 900, join_url: '/join#token=jwt' };

/**
 * A kiosk over a scripted server; `step()` looks once and collects the events.
 * @param {{next: () => any, joinToken?: () => any}} server
 */
function harness(server) {
  const clock = { now: START - 1800 };
  /** @type {string[]} */
  const events = [];
  const client = /** @type {any} */ ({
    endpoint: null,
    nextMeeting: async () => server.next(),
    joinToken: async () => (server.joinToken ? server.joinToken() : grant),
  });
  const kiosk = new Kiosk(client, { now: () => clock.now });
  for (const type of ['join', 'leave', 'unauthorized']) {
    kiosk.addEventListener(type, (ev) => events.push(`${type}${/** @type {any} */ (ev).detail?.reason ? `:${/** @type {any} */ (ev).detail.reason}` : ''}`));
  }
  /** @type {any} */
  let last = null;
  kiosk.addEventListener('update', (ev) => (last = /** @type {any} */ (ev).detail));
  const step = async () => {
    await new Promise((resolve) => {
      kiosk.addEventListener('update', resolve, { once: true });
      kiosk.addEventListener('unauthorized', resolve, { once: true });
      kiosk.refresh();
    });
    return last;
  };
  return { kiosk, clock, events, step, start: () => kiosk.start() };
}

test('joins when the window opens, waits for the chair, then leaves when the window closes', async () => {
  let n = /** @type {any} */ (next({ joinable: false }));
  const h = harness({ next: () => n });
  h.clock.now = START - 7200;
  h.kiosk.start();
  assert.equal((await h.step()).phase, 'upcoming');
  assert.deepEqual(h.events, []);

  h.clock.now = START - 3600;
  n = next();
  const u = await h.step();
  assert.deepEqual(h.events, ['join']);
  assert.equal(u.phase, 'waiting_chair');

  h.clock.now = START + 10;
  assert.equal((await h.step()).phase, 'live');
  h.clock.now = END + 900;
  const after = await h.step();
  assert.deepEqual(h.events, ['join', 'leave:ended']);
  assert.equal(after.grant, null);
  h.kiosk.stop();
});

test('leaves a meeting called off while in it, and retries a refused join token later', async () => {
  let n = /** @type {any} */ (next());
  let refuse = true;
  const h = harness({
    next: () => n,
    joinToken: () => {
      if (refuse) throw new ApiError(409, 'outside_window', 'not yet');
      return grant;
    },
  });
  h.kiosk.start();
  const u = await h.step();
  assert.equal(u.problem, 'outside_window');
  assert.deepEqual(h.events, []);
  refuse = false;
  await h.step();
  assert.deepEqual(h.events, [], 'waits before asking again');
  h.clock.now += 11;
  await h.step();
  assert.deepEqual(h.events, ['join']);
  n = null;
  assert.equal((await h.step()).phase, 'idle');
  assert.deepEqual(h.events, ['join', 'leave:cancelled']);
  h.kiosk.stop();
});

test('a refused credential stops the kiosk', async () => {
  const h = harness({ next: () => { throw new ApiError(401, 'unauthorized', 'no'); } });
  h.kiosk.start();
  await h.step();
  assert.deepEqual(h.events, ['unauthorized']);
});

test('phases, the leaving moment, timers and pasted credentials', () => {
  assert.equal(phaseOf(null, null, START), 'idle');
  assert.equal(phaseOf(next(), null, START - 4000), 'upcoming');
  assert.equal(phaseOf(next(), null, START - 100), 'joining');
  assert.equal(leaveAt({ ...grant, expires_at: END + 60 }, next()), END + 60);
  assert.equal(leaveAt(grant, next()), END + 900);
  assert.equal(delayUntil([START + 2], START), 2250);
  assert.equal(delayUntil([START - 10, START + 3600], START), 15_000);
  assert.equal(credentialFromInput('  hnd_abc \n'), 'hnd_abc');
  assert.equal(credentialFromInput('https://hn.example/kiosk#credential=hnd_xyz'), 'hnd_xyz');
  assert.equal(credentialFromInput(''), null);
  assert.deepEqual(timeLeft(START, START - 600), ['kiosk.in.minutes', { m: 10 }]);
  assert.deepEqual(timeLeft(START, START - 3 * 3600 - 60), ['kiosk.in.hours', { h: 3, m: 1 }]);
  assert.deepEqual(timeLeft(START, START + 5), ['kiosk.in.now', {}]);
});
