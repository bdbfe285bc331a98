/**
 * One caller process of `npm run bench:balance`: `node dist/bench/balance/caller.js <family> <index>`.
 *
 * It connects one system's client to the workers (`init`), switches to a contender and waits
 * until it sees exactly the expected workers (`prepare`), and runs open-loop load (`run`).
 */
import { describe, guardLifetime, serveParent, tell } from '../lib/child.js';
import { openLoop } from './load.js';
import {
  type CallerClient,
  FAMILIES,
  type Family,
  type FromCaller,
  type ToCaller,
  type WorkerInfo,
} from './types.js';

/** Most worker slots a run reports shares for (slots beyond it are counted as unattributed). */
const MAX_SLOTS = 64;

async function connect(
  family: Family,
  index: number,
  workers: WorkerInfo[],
  natsUrl: string | undefined,
  strategies: string[],
): Promise<CallerClient> {
  switch (family) {
    case 'rpclb':
      return (await import('./systems/rpclb.js')).connectRpclb(
        index,
        workers.map((w) => w.address),
      );
    case 'moleculer':
      return (await import('./systems/moleculer.js')).connectMoleculer(
        index,
        workers.map((w) => `${w.address}/${w.name}`),
        strategies,
      );
    case 'nats':
      if (!natsUrl) throw new Error('no NATS server URL given');
      return (await import('./systems/nats.js')).connectNats(index, natsUrl);
  }
}

function main(): void {
  guardLifetime();
  const [family, indexArg] = process.argv.slice(2);
  const index = Number(indexArg);
  if (!FAMILIES.includes(family as Family) || !Number.isInteger(index)) {
    throw new Error(`usage: caller.js <${FAMILIES.join('|')}> <index>`);
  }
  let client: CallerClient | undefined;
  let slots = 8;
  serveParent<ToCaller, FromCaller>(
    async (msg) => {
      switch (msg.type) {
        case 'init':
          client = await connect(family as Family, index, msg.workers, msg.natsUrl, msg.strategies);
          slots = Math.min(MAX_SLOTS, Math.max(...msg.workers.map((w) => w.slot)) + 1);
          return { type: 'ready', info: client.info };
        case 'prepare': {
          if (!client) throw new Error('prepare before init');
          const t0 = performance.now();
          await client.prepare(msg.contender, msg.expect);
          return { type: 'prepared', waitedMs: Math.round(performance.now() - t0) };
        }
        case 'run': {
          const c = client;
          if (!c) throw new Error('run before init');
          const { timeoutMs } = msg.spec;
          const result = await openLoop((i) => c.call(i, timeoutMs, msg.keyed), msg.spec, slots);
          return { type: 'result', result };
        }
        default:
          throw new Error(`caller cannot handle '${msg.type}'`);
      }
    },
    async () => client?.close(),
  );
  tell<FromCaller>({ type: 'ready', seq: 0 });
}

try {
  main();
} catch (err) {
  tell({ type: 'error', seq: 0, message: describe(err) });
  setImmediate(() => process.exit(1));
}
