/** The child side of the orchestrator's IPC: answer requests, and never outlive the parent. */
import type { FromChild, ToChild } from './protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
interface IpcMessage {
  type: string;
  seq: number;
}

/** Sends a message to the parent (no-op when the channel is gone). */
export function tell<From extends IpcMessage = FromChild>(
  msg: From | { type: 'error'; seq: number; message: string },
): void {
  if (process.send && process.connected) process.send(msg);
}

let guarded = false;

/**
 * Makes sure this child never outlives the benchmark: it exits when the parent disconnects (it
 * died or is done), on SIGTERM, and after `BENCH_CHILD_TTL_MS` (default 15 min) at the latest.
 * Call it first thing in a child script.
 */
export function guardLifetime(): void {
  if (guarded) return;
  guarded = true;
  if (!process.send) {
    console.error('this script is started by bench/run.js (it needs an IPC channel)');
    process.exit(2);
  }
  const ttlMs = Number(process.env.BENCH_CHILD_TTL_MS ?? 15 * 60_000);
  setTimeout(() => {
    console.error(`bench child ${process.pid}: lifetime of ${ttlMs} ms exceeded, exiting`);
    process.exit(3);
  }, ttlMs).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/**
 * Serves the parent's requests with `handle`; an exception becomes an `error` reply. `close`
 * runs on the parent's `close` request, then the process exits.
 */
export function serveParent<To extends IpcMessage = ToChild, From extends IpcMessage = FromChild>(
  handle: (msg: To) => Promise<DistributiveOmit<From, 'seq'>>,
  close: () => Promise<void>,
): void {
  guardLifetime();
  process.on('message', (msg: To) => {
    if (msg.type === 'close') {
      close()
        .catch(() => {})
        .finally(() => {
          tell({ type: 'closed', seq: msg.seq });
          setImmediate(() => process.exit(0));
        });
      return;
    }
    handle(msg).then(
      (reply) => tell({ ...reply, seq: msg.seq } as From),
      (err: unknown) => tell({ type: 'error', seq: msg.seq, message: describe(err) }),
    );
  });
}

/** A one-line description of an error for the parent's log. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${code !== undefined ? ` [${String(code)}]` : ''}: ${err.message}`;
  }
  return String(err);
}
