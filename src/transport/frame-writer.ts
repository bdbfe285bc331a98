/**
 * Coalesces outgoing frames into few socket writes and honours backpressure.
 *
 * The first frame queued in a turn of the event loop schedules a flush (`setImmediate`), so
 * replies produced by one burst of input leave in one write; a queue past
 * {@link FLUSH_THRESHOLD_BYTES} flushes at once. When `socket.write()` returns `false` nothing more
 * is pushed until `'drain'`: frames wait in the queue instead of piling up in the socket.
 * Large payloads are never copied: they go out through `writev` next to their header.
 */
import type { Socket } from 'node:net';

/** A queue this large is written at once rather than waiting for the end of the turn. */
export const FLUSH_THRESHOLD_BYTES = 64 * 1024;
/** Frames smaller than this are copied into one buffer with their neighbours. */
const COPY_LIMIT_BYTES = 16 * 1024;

export class FrameWriter {
  readonly #socket: Socket;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #scheduled = false;
  #blocked = false;
  #closed = false;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('drain', () => {
      this.#blocked = false;
      if (this.#queue.length > 0) this.flush();
    });
  }

  /** Bytes waiting to be handed to the socket. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Bytes not yet handed to the kernel: this queue and what the socket itself buffers. */
  get pendingBytes(): number {
    return this.#queuedBytes + this.#socket.writableLength;
  }

  /** Queues a complete frame (length prefix included). */
  write(frame: Buffer): void {
    if (this.#closed) return;
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    this.#schedule();
  }

  /** Queues a frame made of a header (with the length prefix) and a body, without joining them. */
  write2(header: Buffer, body: Buffer): void {
    if (this.#closed) return;
    this.#queue.push(header, body);
    this.#queuedBytes += header.length + body.length;
    this.#schedule();
  }

  /** Writes everything queued now (unless the socket asked us to wait). */
  flush(): void {
    this.#scheduled = false;
    if (this.#blocked || this.#closed || this.#queue.length === 0) return;
    const queue = this.#queue;
    const bytes = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    let ok: boolean;
    if (queue.length === 1) {
      ok = this.#socket.write(queue[0] as Buffer);
    } else if (bytes <= COPY_LIMIT_BYTES * 4 && queue.every((b) => b.length <= COPY_LIMIT_BYTES)) {
      ok = this.#socket.write(Buffer.concat(queue, bytes));
    } else {
      this.#socket.cork();
      ok = true;
      for (const buf of queue) ok = this.#socket.write(buf) && ok;
      this.#socket.uncork();
    }
    if (!ok) this.#blocked = true;
  }

  /** Stops accepting frames; what is queued is flushed first when `flushFirst`. */
  close(flushFirst: boolean): void {
    if (flushFirst) {
      this.#blocked = false;
      this.flush();
    }
    this.#closed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
  }

  #schedule(): void {
    if (this.#queuedBytes >= FLUSH_THRESHOLD_BYTES) {
      this.flush();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(flushWriter, this);
    }
  }
}

function flushWriter(writer: FrameWriter): void {
  writer.flush();
}
