/**
 * Where what a connection delivers goes: RPC frames (`0x10–0x16`, with any flags) to the client
 * or the server with the connection's link, group messages (`0x31–0x32`) to the replicator (an
 * unknown type closes the connection with a log line), and its close to the client, which fails
 * the calls pending on it. Also the lookup of a connection's link.
 */
import type { Logger } from './logger.js';
import type { GroupReplicator } from './membership/groups.js';
import type { RpcClient } from './rpc/client.js';
import type { RpcLink } from './rpc/link.js';
import type { RpcServer } from './rpc/server.js';
import { baseType, isRpcFrame } from './rpc/wire.js';
import type { Connection } from './transport/connection.js';
import { MessageType } from './transport/message-types.js';

/** The RPC state of a ready connection. */
export function linkOf(conn: Connection | undefined): RpcLink | undefined {
  return conn?.session as RpcLink | undefined;
}

/** Routes each message a connection delivers by its type, and its close. */
export class MessageRouter {
  readonly #logger: Logger;
  readonly #client: RpcClient;
  readonly #server: RpcServer;
  readonly #replicator: GroupReplicator;

  constructor(logger: Logger, client: RpcClient, server: RpcServer, replicator: GroupReplicator) {
    this.#logger = logger;
    this.#client = client;
    this.#server = server;
    this.#replicator = replicator;
  }

  /** A message of `type` arrived on `conn` (the transport's `onMessage`). */
  route(conn: Connection, type: number, frame: Buffer): void {
    if (isRpcFrame(type)) return this.#routeRpc(conn, baseType(type), frame);
    switch (type) {
      case MessageType.GroupSync:
      case MessageType.GroupDelta:
        this.#replicator.onMessage(conn, type, frame);
        return;
      default:
        this.#logger.warn(
          `connection ${conn.describe()} closed: unknown message type 0x${type.toString(16)}`,
        );
        conn.destroy('unknown message type');
    }
  }

  /** `conn` closed (the transport's `onClosed`): the calls pending on it fail now. */
  closed(conn: Connection, reason: string): void {
    const link = linkOf(conn);
    if (link) this.#client.onConnectionClosed(link, reason);
  }

  #routeRpc(conn: Connection, type: number, frame: Buffer): void {
    const link = linkOf(conn);
    if (link === undefined) return conn.destroy('RPC message before the connection was ready');
    // Any RPC traffic keeps an on-demand connection from being closed for idleness.
    link.activity++;
    switch (type) {
      case MessageType.Call:
      case MessageType.Cast:
        if (!this.#server.onRequest(link, frame)) conn.destroy('malformed or undecodable request');
        return;
      case MessageType.ReplyOk:
      case MessageType.ReplyError:
        if (!this.#client.onReply(link, frame)) conn.destroy('undecodable reply');
        return;
      case MessageType.Cancel:
        return this.#server.onCancel(link, frame);
      case MessageType.Probe:
        if (link.v2) return this.#server.onProbe(link, frame);
        break;
      case MessageType.ProbeReply:
        if (link.v2) return this.#client.onProbeReply(link, frame);
        break;
    }
    this.#logger.warn(
      `unknown RPC message type 0x${frame[0]?.toString(16)} from ${conn.peerName}; closing`,
    );
    conn.destroy('unknown message type');
  }
}
