/**
 * Dials that wait for an idle close to finish. When this node closes a connection for idleness
 * (`connections: 'on-demand'`), the peer holds the connection until it reads the goodbye; a
 * new dial that reached it first would be refused as a duplicate. So a dial to that peer waits
 * until the closing connection has closed (the peer's answer, or the goodbye's timeout), and
 * starts in the same turn, before anyone waiting for the peer is told nothing is under way.
 */
import type { Connection } from './connection.js';

export class IdleCloseDials {
  readonly #waiting = new Map<Connection, (() => void)[]>();

  /** Among `connections`, the one this node is closing for idleness to `address`, if any. */
  closingTo(connections: Iterable<Connection>, address: string): Connection | undefined {
    for (const conn of connections) {
      if (conn.closingIdle && conn.peer?.address === address) return conn;
    }
    return undefined;
  }

  /** Runs `dial` once `closing` has closed; settles as the dial does. */
  after(closing: Connection, dial: () => Promise<string>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const dials = this.#waiting.get(closing) ?? [];
      dials.push(() => dial().then(resolve, reject));
      this.#waiting.set(closing, dials);
    });
  }

  /** `conn` closed: starts the dials that waited for it. */
  closed(conn: Connection): void {
    const dials = this.#waiting.get(conn);
    if (dials === undefined) return;
    this.#waiting.delete(conn);
    for (const dial of dials) dial();
  }
}
