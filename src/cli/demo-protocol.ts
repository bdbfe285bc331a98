/**
 * What `rpclb demo` and its worker processes tell each other. Kept apart from `demo-worker.ts`,
 * which starts a node as soon as it is imported.
 */
import type { algorithms } from '../index.js';

/** The environment variable carrying the demo cluster's cookie (kept out of argv, where `ps` shows it). */
export const DEMO_COOKIE_ENV = 'RPCLB_DEMO_COOKIE';

/** What the demo tells a worker, as JSON in argv[2]. */
export interface DemoWorkerConfig {
  name: string;
  seeds: string[];
  /** Time `Demo.work` takes per call, in ms. */
  delayMs: number;
  /** The balancers to start, so the worker joins their groups. */
  balancers: { name: string; algorithm: keyof typeof algorithms; algorithmOpts: object }[];
}

/** The IPC message a worker sends once it is ready. */
export interface DemoWorkerReady {
  type: 'ready';
  name: string;
  address: string;
  pid: number;
}
