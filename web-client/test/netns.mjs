// A second "host" for browser tests that need a network to impair: a network
// namespace joined to this one by a veth pair in 198.18.0.0/15 (the
// benchmarking range, no route out), random loss with nftables inside it,
// and a Chromium wrapper that runs the browser there. Needs root; installs
// nftables (Debian's package) when `nft` is missing. No tests and no side
// effects at import.

import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM_PATH } from './support.mjs';

const run = promisify(execFile);

/** @returns {string | null} why the namespace cannot be made here, or null if it can */
export function netnsUnavailable() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'needs root (network namespaces and nftables); run the browser tests as root to include it';
  }
  return null;
}

/** Installs nftables if `nft` is missing. */
async function ensureNft() {
  try {
    await run('nft', ['--version']);
    return;
  } catch {
    // not installed: Debian's package
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update', '-qq'], { env, maxBuffer: 1 << 24 });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'nftables'], { env, maxBuffer: 1 << 24 });
}

/**
 * @typedef {{
 *   name: string, hostAddr: string, nsAddr: string, chromium: string,
 *   setLoss: (percent: number) => Promise<void>,
 *   clearLoss: () => Promise<void>,
 *   remove: () => Promise<void>,
 * }} Netns
 */

/**
 * Makes the namespace `hn-<tag>` with `hostAddr` on this side of the veth pair
 * and `nsAddr` inside, and a Chromium wrapper script that runs there. Call
 * `remove()` when done, also after a failure (it never throws). The default
 * /30 sits away from 198.18.0.0/30, which other tools here tend to take.
 * @param {{tag: string, hostAddr?: string, nsAddr?: string}} o
 * @returns {Promise<Netns>}
 */
export async function makeNetns({ tag, hostAddr = '198.19.5.1', nsAddr = '198.19.5.2' }) {
  await ensureNft();
  const name = `hn-${tag}`;
  // Not veth*: names the host's own tools may claim.
  const outer = `hno-${tag}`.slice(0, 15);
  const inner = `hni-${tag}`.slice(0, 15);
  const dir = await mkdtemp(path.join(os.tmpdir(), `hoinghi-${name}-`));
  const chromium = path.join(dir, 'chromium-in-netns');
  const ip = (/** @type {string[]} */ ...args) => run('ip', args);
  const inNs = (/** @type {string[]} */ ...args) => run('ip', ['netns', 'exec', name, ...args]);
  const unplug = async () => {
    await run('ip', ['netns', 'del', name]).catch(() => {});
    await run('ip', ['link', 'del', outer]).catch(() => {});
  };
  const remove = async () => {
    await unplug();
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  await unplug(); // a namespace left by a killed run
  try {
    await ip('netns', 'add', name);
    await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
    await ip('link', 'set', inner, 'netns', name);
    await ip('addr', 'add', `${hostAddr}/30`, 'dev', outer);
    await ip('link', 'set', outer, 'up');
    await inNs('ip', 'addr', 'add', `${nsAddr}/30`, 'dev', inner);
    await inNs('ip', 'link', 'set', inner, 'up');
    await inNs('ip', 'link', 'set', 'lo', 'up');
    // Playwright talks to the browser over a pipe, which `exec` keeps.
    await writeFile(chromium, `#!/bin/sh\nexec ip netns exec ${name} ${CHROMIUM_PATH} "$@"\n`);
    await chmod(chromium, 0o755);
  } catch (err) {
    await remove();
    throw new Error(`cannot make network namespace ${name}: ${/** @type {Error} */ (err).message}`);
  }
  return {
    name,
    hostAddr,
    nsAddr,
    chromium,
    async setLoss(percent) {
      await this.clearLoss();
      // UDP only (the media): signaling over TCP would only be slowed by retransmissions.
      await inNs('nft', 'add', 'table', 'inet', 'impair');
      await inNs('nft', 'add', 'chain', 'inet', 'impair', 'out', '{ type filter hook output priority 0; }');
      await inNs('nft', 'add', 'chain', 'inet', 'impair', 'in', '{ type filter hook input priority 0; }');
      await inNs('nft', 'add', 'rule', 'inet', 'impair', 'out', 'ip', 'daddr', hostAddr, 'meta', 'l4proto', 'udp',
        'numgen', 'random', 'mod', '100', '<', String(percent), 'drop');
      await inNs('nft', 'add', 'rule', 'inet', 'impair', 'in', 'ip', 'saddr', hostAddr, 'meta', 'l4proto', 'udp',
        'numgen', 'random', 'mod', '100', '<', String(percent), 'drop');
    },
    async clearLoss() {
      await inNs('nft', 'delete', 'table', 'inet', 'impair').catch(() => {});
    },
    remove,
  };
}
