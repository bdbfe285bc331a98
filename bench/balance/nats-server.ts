/**
 * nats-server for `npm run bench:balance`, started on 127.0.0.1 with a free port.
 *
 * The server is spawned by a small guard process (nats-guard.ts) that kills it when the guard
 * exits or loses its parent, so even a benchmark killed with SIGKILL leaves no server behind; the
 * benchmark also kills the server's pid itself on every way out (procs.ts `trackPid`).
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, trackPid, untrackPid } from '../lib/procs.js';

/** The Debian package that provides the binary (`apt-get install -y nats-server`). */
export const NATS_PACKAGE = 'nats-server';

/** Path of the nats-server binary: `$NATS_SERVER`, else the PATH, else Debian's /usr/sbin. */
export function findNatsServer(): string | undefined {
  const candidates = process.env.NATS_SERVER
    ? [process.env.NATS_SERVER]
    : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/bin'].map((dir) =>
        join(dir, 'nats-server'),
      );
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not there; try the next one.
    }
  }
  return undefined;
}

export type ToGuard = { type: 'close'; seq: number };
export type FromGuard =
  | { type: 'ready'; seq: number; url: string; pid: number; version: string }
  | { type: 'closed'; seq: number }
  | { type: 'error'; seq: number; message: string };

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  url: string;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

const GUARD = fileURLToPath(new URL('./nats-guard.js', import.meta.url));

/** Starts nats-server on 127.0.0.1 (free port); fails clearly when the binary is missing. */
export async function startNatsServer(binary: string): Promise<NatsServer> {
  const guard = new Child<ToGuard, FromGuard>(GUARD, [binary], 'nats-server guard');
  let ready: FromGuard;
  try {
    ready = await guard.first(15_000);
  } catch (err) {
    await guard.stop(500);
    throw err;
  }
  if (ready.type !== 'ready') throw new Error(`nats-server guard: unexpected '${ready.type}'`);
  trackPid(ready.pid);
  return {
    url: ready.url,
    pid: ready.pid,
    version: ready.version,
    stop: async () => {
      await guard.stop(2_000);
      untrackPid(ready.pid);
    },
  };
}
