/**
 * The listening socket: plain TCP, or TLS with mutual authentication. A TLS client that fails
 * its handshake never becomes a connection, so it is logged here: one line with the client's
 * address and the reason in plain words (rate-limited per client host and reason, since a
 * misconfigured node re-dials for ever).
 */
import net from 'node:net';
import tls from 'node:tls';
import { describeTlsClientError } from './socket-errors.js';

/** What the listener needs. */
export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: tls.TlsOptions | undefined;
  readonly handshakeTimeoutMs: number;
  /** Logs a warning unless one with the same key was logged recently. */
  warnLimited(key: string, message: string): void;
}

/** Listens; `onSocket` receives every accepted (for TLS: authenticated) socket. */
export async function listen(
  options: ListenerOptions,
  onSocket: (socket: net.Socket) => void,
): Promise<net.Server> {
  const server = options.tls ? tlsServer(options) : net.createServer();
  server.on(options.tls ? 'secureConnection' : 'connection', onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function tlsServer(options: ListenerOptions): tls.Server {
  const server = tls.createServer({
    ...options.tls,
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: options.handshakeTimeoutMs,
  });
  // By the time a handshake fails the TLS socket may have lost its address: note it on arrival.
  const remotes = new WeakMap<net.Socket, string>();
  server.on('connection', (raw: net.Socket) => {
    remotes.set(raw, `${raw.remoteAddress}:${raw.remotePort}`);
  });
  server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
    // `_parent` is the TCP socket under a server-side TLS socket (not public API, hence the guard).
    const raw = (socket as { _parent?: net.Socket })._parent;
    const from =
      (raw && remotes.get(raw)) ??
      (socket.remoteAddress
        ? `${socket.remoteAddress}:${socket.remotePort}`
        : 'an unknown address');
    // Set (to a code) when the client's certificate was checked and refused; null otherwise.
    const refusedCert = (socket as { authorizationError?: Error | string | null })
      .authorizationError;
    const { verb, reason } = describeTlsClientError(
      err,
      refusedCert == null ? undefined : String(refusedCert),
    );
    const host = from.slice(0, from.lastIndexOf(':'));
    options.warnLimited(`tls ${host} ${reason}`, `TLS connection from ${from} ${verb}: ${reason}`);
  });
  return server;
}

/** Stops listening; resolves once the server has closed, or after 3 s at the most. */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3_000);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
