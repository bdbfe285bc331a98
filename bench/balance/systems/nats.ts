/**
 * NATS queue groups in `npm run bench:balance`: every worker subscribes to `bench.work` in the
 * queue group `workers`, callers send requests to `bench.work`, and nats-server hands each
 * request to one member of the group (chosen at random; the server knows nothing of the
 * workers' queues). Replies are two bytes: status (0 ok, 1 failed) and the worker's slot.
 */
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import {
  type CallerClient,
  failMessage,
  type Handle,
  type WorkerConfig,
  type WorkerServer,
} from '../types.js';

const SUBJECT = 'bench.work';
const QUEUE = 'workers';
const REQUEST = new Uint8Array(8);

function natsUrl(config: { natsUrl?: string }): string {
  if (!config.natsUrl) throw new Error('no NATS server URL given');
  return config.natsUrl;
}

export async function startNatsWorker(
  slot: number,
  gen: number,
  handle: Handle,
  config: WorkerConfig,
): Promise<WorkerServer> {
  const name = `w${slot}-g${gen}`;
  const nc = await connect({ servers: natsUrl(config), name });
  const reply = (msg: Msg, status: number) => msg.respond(Uint8Array.of(status, slot));
  nc.subscribe(SUBJECT, {
    queue: QUEUE,
    callback: (err, msg) => {
      if (err) return;
      try {
        Promise.resolve(handle()).then(
          () => reply(msg, 0),
          () => reply(msg, 1),
        );
      } catch {
        reply(msg, 1);
      }
    },
  });
  // The subscription is registered on the server once this round trip completes.
  await nc.flush();
  return { info: { name, address: '' }, close: () => nc.drain() };
}

export async function connectNats(index: number, url: string): Promise<CallerClient> {
  const nc: NatsConnection = await connect({ servers: url, name: `c${index}` });
  return {
    info: { addresses: [] },
    // The queue group is the server's; there is nothing to choose or to wait for here.
    prepare: async () => {},
    async call(_i: number, timeout: number) {
      const msg = await nc.request(SUBJECT, REQUEST, { timeout });
      const [status, slot] = msg.data;
      if (status !== 0) throw new Error(failMessage(slot ?? -1));
      return slot ?? -1;
    },
    close: () => nc.close(),
  };
}
