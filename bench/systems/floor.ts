/**
 * The floor's client: one node:net connection per server, length-prefixed frames, the project
 * codec, a Map of pending calls, writes coalesced per tick. The balanced case rotates over the
 * connections (the cheapest possible round robin).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { decodeValue, encodeValue } from '../../src/rpc/codec.js';
import { FrameReader, FrameWriter } from '../lib/frames.js';
import type { ServerInfo } from '../lib/protocol.js';
import type { Connect } from './types.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

class FloorConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly writer: FrameWriter;
  private nextId = 0;

  constructor(private readonly socket: Socket) {
    this.writer = new FrameWriter(socket);
    const reader = new FrameReader((id, body) => {
      const call = this.pending.get(id);
      if (call === undefined) return;
      this.pending.delete(id);
      call.resolve(decodeValue(body));
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error('connection closed'));
      this.pending.clear();
    });
    socket.on('error', () => {});
  }

  call(value: unknown): Promise<unknown> {
    const body = encodeValue(value);
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

function open(server: ServerInfo): Promise<FloorConnection> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: server.host, port: server.port, noDelay: true });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new FloorConnection(socket));
    });
  });
}

export const connectFloor: Connect = async (servers) => {
  const conns = await Promise.all(servers.map(open));
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
};
