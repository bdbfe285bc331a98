/**
 * The floor's client: one node:net connection per server, length-prefixed frames, a Map of
 * pending calls, writes coalesced per tick. The balanced case rotates over the connections (the
 * cheapest possible round robin). Two floors share it: the project codec (`floor`), and
 * msgpackr's plain `pack`/`unpack` (`floorPlain`: objects as MessagePack maps, no records, no
 * Map/Set/BigInt guarantees), the fastest a user of msgpackr would get without our contract.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type FloorCodec, PLAIN_CODEC, PROJECT_CODEC } from '../lib/floor-codecs.js';
import { FrameReader, FrameWriter } from '../lib/frames.js';
import type { ServerInfo } from '../lib/protocol.js';
import type { Connect, SystemClient } from './types.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

class FloorConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly writer: FrameWriter;
  private nextId = 0;

  constructor(
    private readonly socket: Socket,
    private readonly codec: FloorCodec,
  ) {
    this.writer = new FrameWriter(socket);
    const reader = new FrameReader((id, body) => {
      const call = this.pending.get(id);
      if (call === undefined) return;
      this.pending.delete(id);
      call.resolve(codec.decode(body));
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error('connection closed'));
      this.pending.clear();
    });
    socket.on('error', () => {});
  }

  call(value: unknown): Promise<unknown> {
    const body = this.codec.encode(value);
    const id = (this.nextId = (this.nextId + 1) >>> 0);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.writer.send(id, body);
    });
  }

  close(): void {
    this.socket.end();
  }
}

function open(server: ServerInfo, codec: FloorCodec): Promise<FloorConnection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: server.host, port: server.port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new FloorConnection(socket, codec));
    });
  });
}

function connectWith(codec: FloorCodec): Connect {
  return async (servers) => {
    const conns = await Promise.all(servers.map((server) => open(server, codec)));
    return rotating(conns);
  };
}

export const connectFloor = connectWith(PROJECT_CODEC);
export const connectFloorPlain = connectWith(PLAIN_CODEC);

function rotating(conns: FloorConnection[]): SystemClient {
  const first = conns[0] as FloorConnection;
  let next = 0;
  return {
    call: (value) => first.call(value),
    callBalanced: (value) => {
      const conn = conns[next] as FloorConnection;
      next = next + 1 === conns.length ? 0 : next + 1;
      return conn.call(value);
    },
    close: async () => {
      for (const conn of conns) conn.close();
    },
  };
}
