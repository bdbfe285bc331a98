/**
 * The floors' server: node:net, length-prefixed frames, an echo; with the project codec
 * (`floor`) or msgpackr's plain pack/unpack (`floorPlain`).
 */
import { createServer, type Server } from 'node:net';
import { type FloorCodec, PLAIN_CODEC, PROJECT_CODEC } from '../lib/floor-codecs.js';
import { FrameReader, FrameWriter } from '../lib/frames.js';
import type { StartServer } from './types.js';

const startWith =
  (codec: FloorCodec, prefix: string): StartServer =>
  async (index, counter) => {
    const server = createServer({ noDelay: true }, (socket) => {
      const writer = new FrameWriter(socket);
      const reader = new FrameReader((id, body) => {
        counter.calls++;
        writer.send(id, codec.encode(codec.decode(body)));
      });
      socket.on('data', (chunk: Buffer) => {
        reader.push(chunk);
        writer.flush();
      });
      socket.on('error', () => socket.destroy());
    });
    const port = await listen(server);
    return {
      info: { host: '127.0.0.1', port, name: `${prefix}${index}` },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  };

export const startFloorServer = startWith(PROJECT_CODEC, 'floor');
export const startFloorPlainServer = startWith(PLAIN_CODEC, 'floorPlain');

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
      else resolve(address.port);
    });
  });
}
