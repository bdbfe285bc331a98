/**
 * Ports a test chooses itself: for a server it starts, kills and starts again on the same port
 * (etcd, Redis, a node restarted on its address), and for an address where nothing listens.
 *
 * ```ts
 * const port = await claimPort();      // free now, and nobody else will be handed it
 * const dead = await unusedAddress();  // '127.0.0.1:<port>', where nothing listens
 * ```
 *
 * A port asked of the kernel (a listen on port 0) and released is not safe to bind later: the
 * kernel hands out that same range (`ip_local_port_range`) to every listen on port 0 on the
 * machine, picking at random among about 7 000 ports, and the suite runs two test files at once,
 * each starting nodes. Each of their listens in the meantime takes the port one time in 7 000:
 * a server restarted on it fails to bind, and a "dead" address answers. The ports here come from
 * outside that range, where the kernel never puts anything by itself, and each is claimed with a
 * lock file, so two test processes never pick the same one; a claim ends with its process.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LOCKS = join(tmpdir(), 'rpclb-test-ports');
const LOWEST = 10_000;
const owned = new Set<string>();

/** The kernel's range for port 0 and outgoing connections (Linux's default elsewhere). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low as number, high as number];
  } catch {
    // not Linux
  }
  return [32_768, 65_535];
}

/** Ports the kernel never hands out by itself: below and above its range. */
function candidates(): [number, number][] {
  const [low, high] = ephemeralRange();
  const ranges: [number, number][] = [];
  if (low > LOWEST) ranges.push([LOWEST, low - 1]);
  if (high < 65_535) ranges.push([high + 1, 65_535]);
  return ranges;
}

function randomPort(ranges: readonly [number, number][]): number {
  const total = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
  let k = Math.floor(Math.random() * total);
  for (const [a, b] of ranges) {
    if (k <= b - a) return a + k;
    k -= b - a + 1;
  }
  throw new Error('unreachable');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock file of `port` (a stale one, of a process that is gone, is taken over). */
function lock(port: number): boolean {
  const file = join(LOCKS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      owned.add(file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Empty: another process is claiming it this very moment.
      const pid = Number(readFileSync(file, 'utf8'));
      if (!(pid > 0) || alive(pid)) return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

process.once('exit', () => {
  for (const file of owned) rmSync(file, { force: true });
});

/** A port free on 127.0.0.1 that no other process will be given until this one exits. */
export async function claimPort(): Promise<number> {
  const ranges = candidates();
  if (ranges.length === 0) throw new Error('ip_local_port_range leaves no port to claim');
  mkdirSync(LOCKS, { recursive: true });
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomPort(ranges);
    if (lock(port) && (await canBind(port))) return port;
  }
  throw new Error(`no free port to claim in ${JSON.stringify(ranges)}`);
}

/** An address on 127.0.0.1 where nothing listens, and nothing will while this process runs. */
export async function unusedAddress(): Promise<string> {
  return `127.0.0.1:${await claimPort()}`;
}
