import type { ServerInfo } from '../lib/protocol.js';

/** The client side of one system, connected to its servers. */
export interface SystemClient {
  /** One echo round trip to server 0. */
  call(value: unknown): Promise<unknown>;
  /** One echo round trip through the system's own balancer over all servers. */
  callBalanced(value: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** Connects a system's client to its (already running) servers. */
export type Connect = (servers: ServerInfo[]) => Promise<SystemClient>;

/** Polls `ready` every 50 ms until it is true, or fails after `timeoutMs` saying `what`. */
export async function waitUntil(ready: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
