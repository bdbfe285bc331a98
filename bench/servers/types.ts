import type { ServerInfo } from '../lib/protocol.js';

/** Counts the echo calls a server handled (read by the orchestrator for per-server share). */
export interface CallCounter {
  calls: number;
}

/** A started server: where it listens, and how to close it. */
export interface ServerHandle {
  info: Pick<ServerInfo, 'host' | 'port' | 'name'>;
  close(): Promise<void>;
}

/** Starts server number `index` of a system on 127.0.0.1, port 0. */
export type StartServer = (index: number, counter: CallCounter) => Promise<ServerHandle>;
