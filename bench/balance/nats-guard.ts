/**
 * Guard of one nats-server process: `node dist/bench/balance/nats-guard.js <binary>`. Spawns the
 * server on 127.0.0.1 with a port the server picks (`-p -1`), reports its URL over IPC, and kills
 * it by pid when this guard exits for any reason short of SIGKILL (parent gone, SIGTERM, close).
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, serveParent, tell } from '../lib/child.js';
import type { FromGuard, ToGuard } from './nats-server.js';

const LISTENING = /Listening for client connections on ([\d.]+):(\d+)/;

function main(): void {
  const binary = process.argv[2];
  if (!binary) throw new Error('usage: nats-guard.js <nats-server binary>');
  const version = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5_000 })
    .stdout.trim()
    .replace(/^nats-server:\s*/, '');
  const server = spawn(binary, ['-a', '127.0.0.1', '-p', '-1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = server.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  process.on('exit', () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  });
  server.on('exit', (code, signal) => {
    tell({ type: 'error', seq: 0, message: `nats-server exited (code ${code}, signal ${signal})` });
    process.exit(1);
  });
  let log = '';
  server.stderr.setEncoding('utf8');
  server.stderr.on('data', (chunk: string) => {
    log += chunk;
    const m = LISTENING.exec(log);
    if (m) {
      tell<FromGuard>({ type: 'ready', seq: 0, url: `nats://${m[1]}:${m[2]}`, pid, version });
      log = '';
      server.stderr.removeAllListeners('data');
      server.stderr.resume();
    }
  });
  serveParent<ToGuard, FromGuard>(
    async () => {
      throw new Error('the guard only answers close');
    },
    async () => {
      server.removeAllListeners('exit');
      server.kill('SIGTERM');
    },
  );
}

try {
  main();
} catch (err) {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
}
