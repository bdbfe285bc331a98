/**
 * Load probes the client sends: a PROBE answered by the peer's RPC layer (no handler runs), each
 * pending under its own id until its answer, its timer, or the end of its connection. An answer
 * also updates the link's last load and round-trip time.
 */
import { RpcError } from '../errors.js';
import type { RpcLink } from './link.js';
import type { ServerLoad } from './load.js';
import { encodeProbe, frameId, readLoad } from './wire.js';

interface PendingProbe {
  readonly link: RpcLink;
  readonly resolve: (load: ServerLoad) => void;
  readonly reject: (err: RpcError) => void;
  readonly timer: NodeJS.Timeout;
  /** `performance.now()` when it was sent (for the link's round-trip time). */
  readonly sentAt: number;
}

/** The probes waiting for an answer. */
export class ProbeTable {
  readonly #probes = new Map<number, PendingProbe>();
  #nextId = 1;

  /**
   * Asks `peer` (connected through `link`) for its load. Rejects with `service_unavailable`
   * when the peer speaks protocol 1, does not answer within `timeoutMs`, or its connection drops.
   */
  send(link: RpcLink, peer: string, timeoutMs: number): Promise<ServerLoad> {
    const details = { node: peer };
    if (!link.v2) {
      return Promise.reject(
        new RpcError('service_unavailable', `node ${peer} speaks protocol 1, which has no probes`, {
          details: { ...details, reason: 'probe_unsupported' },
          notExecuted: true,
        }),
      );
    }
    const id = this.#nextId;
    this.#nextId = id >= 0xffffffff ? 1 : id + 1;
    return new Promise<ServerLoad>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#probes.delete(id);
        reject(
          new RpcError('request_timeout', `probe of ${peer} timed out after ${timeoutMs} ms`, {
            details: { ...details, timeoutMs },
          }),
        );
      }, timeoutMs);
      this.#probes.set(id, { link, resolve, reject, timer, sentAt: performance.now() });
      link.send(encodeProbe(id));
    });
  }

  /** Adds to `busy` the links with a probe waiting for its answer (for the idle sweep). */
  addLinksTo(busy: Set<RpcLink>): void {
    for (const probe of this.#probes.values()) busy.add(probe.link);
  }

  /** A PROBE answer arrived on `link`. */
  onReply(link: RpcLink, frame: Buffer): void {
    if (frame.length < 11) return;
    const wire = readLoad(frame, 5);
    const load = (link.load = { inFlight: wire.inFlight, elu: wire.elu, at: performance.now() });
    const id = frameId(frame);
    const probe = this.#probes.get(id);
    if (probe === undefined || probe.link !== link) return;
    this.#probes.delete(id);
    clearTimeout(probe.timer);
    link.rttMs = load.at - probe.sentAt;
    probe.resolve(load);
  }

  /** The connection dropped: every probe pending on it fails now with `service_unavailable`. */
  onConnectionClosed(link: RpcLink, reason: string): void {
    for (const [id, probe] of this.#probes) {
      if (probe.link !== link) continue;
      this.#probes.delete(id);
      clearTimeout(probe.timer);
      probe.reject(
        new RpcError('service_unavailable', `connection to ${link.peer} lost (${reason})`, {
          details: { node: link.peer, reason: 'connection_lost' },
        }),
      );
    }
  }

  /** Fails every pending probe with `node_closed`. */
  rejectAll(message: string): void {
    for (const probe of this.#probes.values()) {
      clearTimeout(probe.timer);
      probe.reject(
        new RpcError('service_unavailable', message, {
          details: { node: probe.link.peer, reason: 'node_closed' },
        }),
      );
    }
    this.#probes.clear();
  }
}
