/**
 * A fault-injecting TCP proxy for tests, placed in front of a node (which then advertises the
 * proxy's address, so every peer reaches it through the proxy). Per direction it adds latency
 * with jitter (bytes keep their order), throttles to a byte rate, and can stall: hold every byte
 * for a while, then let them go in order. The kernel here has no `netem`; this is its stand-in.
 *
 * ```ts
 * const proxy = await FaultProxy.start({ seed: 7 });
 * const node = await cluster.spawn({ advertiseAddress: proxy.address });
 * proxy.target = node.address;
 * proxy.set({ latencyMs: 20, jitterMs: 5 });   // 20 ms ± 5 ms each way
 * proxy.stall(750);                            // nothing passes for 750 ms
 * ```
 * A slow direction pushes back on its sender (the proxy stops reading past 1 MiB held), as a
 * slow link would, so the proxy's memory stays bounded.
 */
import net from 'node:net';
import { seededRandom } from './random.js';

/** What the link does to the bytes crossing it (each direction alike). */
export interface LinkFaults {
  /** Added to every chunk, in ms. @default 0 */
  latencyMs?: number;
  /** Latency varies uniformly by ± this, in ms. @default 0 */
  jitterMs?: number;
  /** At most this many bytes per second per direction; unlimited when absent. */
  bytesPerSecond?: number;
}

/** Bytes held per direction before the proxy stops reading from the sender. */
const HIGH_WATER_BYTES = 2 ** 20;
/** Large chunks are cut so that throttling paces them smoothly. */
const SLICE_BYTES = 16 * 1024;

/** One direction of one proxied connection. */
class Pipe {
  readonly #from: net.Socket;
  readonly #to: net.Socket;
  readonly #proxy: FaultProxy;
  readonly #queue: { chunk: Buffer; at: number }[] = [];
  #held = 0;
  #lastAt = 0;
  #rateFreeAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;
  /** No byte of this pipe passes before this time (`Date.now()`); see {@link FaultProxy.stallOpen}. */
  heldUntil = 0;

  constructor(proxy: FaultProxy, from: net.Socket, to: net.Socket) {
    this.#proxy = proxy;
    this.#from = from;
    this.#to = to;
    from.on('data', (chunk: Buffer) => this.#push(chunk));
    from.on('end', () => {
      this.#ended = true;
      this.pump();
    });
    to.on('drain', () => this.pump());
  }

  #push(chunk: Buffer): void {
    const { latencyMs = 0, jitterMs = 0 } = this.#proxy.faults;
    const delay = Math.max(0, latencyMs + (this.#proxy.random() * 2 - 1) * jitterMs);
    // Never before the previous chunk: a TCP stream keeps its order whatever the jitter.
    const at = Math.max(Date.now() + delay, this.#lastAt);
    this.#lastAt = at;
    for (let i = 0; i < chunk.length; i += SLICE_BYTES)
      this.#queue.push({ chunk: chunk.subarray(i, i + SLICE_BYTES), at });
    this.#held += chunk.length;
    if (this.#held > HIGH_WATER_BYTES) this.#from.pause();
    this.pump();
  }

  /** Forwards what is due; schedules itself for what is not. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const rate = this.#proxy.faults.bytesPerSecond;
    while (this.#queue.length > 0 && !this.#to.destroyed) {
      const head = this.#queue[0] as { chunk: Buffer; at: number };
      const now = Date.now();
      const due = Math.max(
        head.at,
        this.#proxy.stalledUntil,
        this.heldUntil,
        rate ? this.#rateFreeAt : 0,
      );
      if (due > now) {
        this.#timer = setTimeout(() => this.pump(), due - now);
        return;
      }
      if (this.#to.writableNeedDrain) return;
      this.#queue.shift();
      this.#held -= head.chunk.length;
      if (rate)
        this.#rateFreeAt = Math.max(now, this.#rateFreeAt) + (head.chunk.length / rate) * 1000;
      this.#to.write(head.chunk);
      if (this.#held <= HIGH_WATER_BYTES / 2 && this.#from.isPaused()) this.#from.resume();
    }
    if (this.#ended && this.#queue.length === 0) this.#to.end();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}

export class FaultProxy {
  /** Where connections are forwarded to (`host:port`); set it before peers connect. */
  target = '';
  /** The faults in effect now. */
  faults: LinkFaults = {};
  /** No byte passes before this time (`Date.now()`), in either direction. */
  stalledUntil = 0;
  readonly random: () => number;
  readonly #server: net.Server;
  readonly #pipes = new Set<Pipe>();
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server, seed: number) {
    this.#server = server;
    this.random = seededRandom(seed);
    server.on('connection', (client) => this.#accept(client));
  }

  /** Starts a proxy listening on 127.0.0.1 (an ephemeral port). */
  static async start(options: { seed?: number; target?: string } = {}): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FaultProxy(server, options.seed ?? 1);
    proxy.target = options.target ?? '';
    return proxy;
  }

  /** `host:port` to advertise and dial. */
  get address(): string {
    return `127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  /** Replaces the link's faults (bytes already held keep the time they were given). */
  set(faults: LinkFaults): void {
    this.faults = { ...faults };
  }

  /** Holds every byte, both ways, for `ms`; then they flow again in order. */
  stall(ms: number): void {
    this.stalledUntil = Math.max(this.stalledUntil, Date.now() + ms);
    for (const pipe of this.#pipes) pipe.pump();
  }

  /**
   * Holds the bytes of the connections open now, both ways, for `ms`; connections opened later
   * are not held (so their bytes can overtake those of an older connection, as after a loss).
   */
  stallOpen(ms: number): void {
    const until = Date.now() + ms;
    for (const pipe of this.#pipes) {
      pipe.heldUntil = Math.max(pipe.heldUntil, until);
      pipe.pump();
    }
  }

  /** Closes the listener and every proxied connection. */
  async close(): Promise<void> {
    for (const pipe of this.#pipes) pipe.stop();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: net.Socket): void {
    const colon = this.target.lastIndexOf(':');
    const upstream = net.connect({
      host: this.target.slice(0, colon),
      port: Number(this.target.slice(colon + 1)),
    });
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      this.#sockets.add(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => {
        this.#sockets.delete(socket);
        if (client.destroyed && upstream.destroyed) {
          for (const pipe of [there, back]) {
            pipe.stop();
            this.#pipes.delete(pipe);
          }
        }
      });
    }
    const there = new Pipe(this, client, upstream);
    const back = new Pipe(this, upstream, client);
    this.#pipes.add(there);
    this.#pipes.add(back);
  }
}
