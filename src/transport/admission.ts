/**
 * Admission: one connection per peer. An authenticated connection is admitted unless a live
 * one to the same name is ready or already admitted: from the same process (same incarnation)
 * it is a duplicate, as when two nodes dial each other at once; from another it is a name in
 * use. An admitted connection holds its name until it is ready or closed, so that no second one
 * is admitted meanwhile.
 */
import type { Connection } from './connection.js';

export class Admission {
  readonly #ready: ReadonlyMap<string, Connection>;
  readonly #warnLimited: (key: string, message: string) => void;
  readonly #admitted = new Map<string, Connection>();

  /** `ready`: the transport's ready connections by peer name (read, never changed here). */
  constructor(
    ready: ReadonlyMap<string, Connection>,
    warnLimited: (key: string, message: string) => void,
  ) {
    this.#ready = ready;
    this.#warnLimited = warnLimited;
  }

  /** `null` to admit `conn` (its peer authenticated), else the reason it is refused. */
  admit(conn: Connection): string | null {
    const peer = conn.peer;
    if (!peer) return 'no hello';
    const existing = this.#ready.get(peer.name) ?? this.#admitted.get(peer.name);
    if (existing && existing !== conn && !existing.closed) {
      if (existing.peer?.incarnation === peer.incarnation) return 'duplicate connection';
      const reason = `name ${peer.name} is in use by another live node`;
      this.#warnLimited(
        `in use ${peer.name}`,
        `connection ${conn.describe()} refused: ${reason} (connected ${existing.describe()}); ` +
          'two processes may share a name, or the old one is frozen and not declared down yet',
      );
      return reason;
    }
    this.#admitted.set(peer.name, conn);
    return null;
  }

  /** `conn` is ready or closed: it no longer holds its peer's name here. */
  release(conn: Connection): void {
    const name = conn.peerName;
    if (name !== undefined && this.#admitted.get(name) === conn) this.#admitted.delete(name);
  }
}
