/** The floor's server: node:net, length-prefixed frames, the project codec, an echo. */
import { createServer, type Server } from 'node:net';
import { decodeValue, encodeValue } from '../../src/rpc/codec.js';
import { FrameReader, FrameWriter } from '../lib/frames.js';
import type { StartServer } from './types.js';

export const startFloorServer: StartServer = async (index, counter) => {
  const server = createServer({ noDelay: true }, (socket) => {
    const writer = new FrameWriter(socket);
    const reader = new FrameReader((id, body) => {
      counter.calls++;
      writer.send(id, encodeValue(decodeValue(body)));
    });
    socket.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      writer.flush();
    });
    socket.on('error', () => socket.destroy());
  });
  const port = await listen(server);
  return {
    info: { host: '127.0.0.1', port, name: `floor${index}` },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

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
