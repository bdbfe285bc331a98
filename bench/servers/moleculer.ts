/** The Moleculer server: a broker with one `bench` service whose `echo` action returns its params. */
import type { Context } from 'moleculer';
import { createBroker } from '../lib/moleculer-setup.js';
import type { StartServer } from './types.js';

export const startMoleculerServer: StartServer = async (index, counter) => {
  const nodeID = `srv${index}`;
  const { broker, port } = createBroker(nodeID, []);
  broker.createService({
    name: 'bench',
    actions: {
      echo(ctx: Context) {
        counter.calls++;
        return ctx.params;
      },
    },
  });
  await broker.start();
  return { info: { host: '127.0.0.1', port: port(), name: nodeID }, close: () => broker.stop() };
};
