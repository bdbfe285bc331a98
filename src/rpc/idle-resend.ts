/**
 * Sending a call again after its peer closed an idle connection. A node closing a connection
 * for idleness refuses a call that still arrives on it, marked not executed
 * (`connection_idle`): the call crossed the close on the wire, did not run, and its connection
 * is going away. The client sends it again over a new connection, within the call's own
 * deadline, so the close stays invisible to the caller. Apart from client.ts because only that
 * race takes this path; a call's usual path never enters it.
 */
import { RpcError } from '../errors.js';
import type { OutgoingCall } from './call.js';
import type { CastHost } from './cast.js';
import type { NamesCache } from './names.js';
import { encodeRequestFor, notConnected, sendQueueFull } from './outgoing.js';

/** What a re-send needs from the node (a part of what the client needs: `ClientHost`). */
export type ResendHost = Pick<CastHost, 'selfName' | 'link' | 'waitForConnection'>;

/** What a re-send needs of the client: its pending table and how a pending call ends. */
export interface ResendClient {
  /** The calls waiting for a reply, by request id; a call sent again moves to a new id. */
  readonly pending: Map<number, OutgoingCall>;
  /** A request id that is not pending. */
  allocateId(): number;
  /** Settles pending `call` with `err`. */
  fail(call: OutgoingCall, err: RpcError): void;
  /** `true` once the client refuses new requests (the node is closing). */
  closed(): boolean;
}

/** The client's re-sends of calls refused for idleness. */
export class IdleResender {
  readonly #host: ResendHost;
  readonly #names: NamesCache;
  readonly #client: ResendClient;

  constructor(host: ResendHost, names: NamesCache, client: ResendClient) {
    this.#host = host;
    this.#names = names;
    this.#client = client;
  }

  /**
   * Sends pending `call`, refused with `err`, again once its target is connected, when `err` is
   * a refusal for idleness and the node can wait for a connection. `false` when it does not:
   * then `err` is the call's outcome.
   */
  tryResend(call: OutgoingCall, err: RpcError): boolean {
    if (err.details.reason !== 'connection_idle' || !err.notExecuted) return false;
    if (this.#host.waitForConnection === undefined || this.#client.closed()) return false;
    // Still pending under its old id, so its timeout and abort end it as before; detached from
    // the old connection, whose close must not fail it as lost.
    const oldId = call.id;
    call.link = null;
    const left = Math.max(1, Math.floor(call.deadline - performance.now()));
    void this.#host
      .waitForConnection?.(call.target, left, call.signal)
      .then((connected) => this.#sendAgain(call, oldId, connected));
    return true;
  }

  #sendAgain(call: OutgoingCall, oldId: number, connected: boolean): void {
    const client = this.#client;
    if (client.pending.get(oldId) !== call) return; // timed out or aborted meanwhile
    const left = Math.floor(call.deadline - performance.now());
    if (left < 1) return; // its deadline ends it
    const closed = client.closed();
    const link = connected && !closed ? this.#host.link(call.target) : undefined;
    if (link === undefined) {
      return client.fail(
        call,
        notConnected(call.details, closed ? this.#host.selfName : undefined),
      );
    }
    // The same bound as a first attempt: a peer that reads too slowly gets no more calls.
    if (link.wire.sendQueueFull === true) return client.fail(call, sendQueueFull(call.details));
    const names = this.#names.get(call.module, call.fn) as Buffer;
    const id = client.allocateId();
    const frame = encodeRequestFor(link, id, left, names, call.args, call.meta, call.details);
    if (frame instanceof RpcError) return client.fail(call, frame);
    client.pending.delete(oldId);
    call.id = id;
    call.link = link;
    client.pending.set(id, call);
    link.send(frame);
  }
}
