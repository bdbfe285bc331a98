/**
 * Socket and TLS errors in plain words, on one line, for log lines and `connect()` failures.
 *
 * OpenSSL's own messages carry an error queue prefix, a source path and a trailing newline
 * (`80..:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/...c:350:\n`);
 * what an operator needs is what happened and what to check, with the code to search for.
 */

/** A socket or TLS error as Node.js raises it. */
export interface SocketErrorLike {
  message: string;
  code?: string;
  /** OpenSSL's reason, on TLS errors (e.g. `wrong version number`). */
  reason?: string;
}

const PLAIN: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing listens at that address',
  ECONNRESET: 'connection reset by the peer',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed for now (DNS)',
  EPIPE: 'the peer closed the connection',
  EADDRNOTAVAIL: 'address not available',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    'the peer requires a client certificate and this node presented none (tls.key, tls.cert)',
  ERR_TLS_CERT_ALTNAME_INVALID:
    "the peer's certificate does not name the address dialled (its subjectAltName)",
  ERR_TLS_HANDSHAKE_TIMEOUT: 'the TLS handshake did not finish in time',
};

/** Certificate verification failures: Node's message for them is already plain. */
const UNTRUSTED = /CERT|ISSUER|SELF_SIGNED|UNABLE_TO|INVALID_CA|PATH_LENGTH/;

const NOT_TLS =
  'the other side does not speak TLS (wrong version number): every node of a cluster needs the tls option, or none';

/** One line: whitespace runs (newlines included) become single spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** OpenSSL's reason from its message, when the error has no `reason` of its own. */
function opensslReason(err: SocketErrorLike): string | undefined {
  return err.reason ?? /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(err.message)?.[1];
}

/** What went wrong with a socket, in plain words, with its code. */
export function describeSocketError(err: SocketErrorLike): string {
  const code = err.code;
  if (code !== undefined && PLAIN[code] !== undefined) return `${PLAIN[code]} (${code})`;
  const reason = opensslReason(err);
  if (reason === 'wrong version number') return NOT_TLS;
  if (code !== undefined && UNTRUSTED.test(code))
    return `the peer's certificate is not trusted: ${oneLine(err.message)} (${code})`;
  const text = oneLine(reason ?? err.message);
  return code !== undefined && !text.includes(code) ? `${text} (${code})` : text;
}

/**
 * Why a TLS server could not accept a client, from the error and what the TLS socket knows
 * (`authorizationError`: the client's certificate was checked and refused). The verb says
 * whether this node refused or the client gave up.
 */
export function describeTlsClientError(
  err: SocketErrorLike,
  authorizationError: string | undefined,
): { verb: 'refused' | 'failed'; reason: string } {
  if (authorizationError !== undefined) {
    return {
      verb: 'refused',
      reason: `the client's certificate is not trusted (${authorizationError}): it must be signed by a CA in tls.ca`,
    };
  }
  const reason = opensslReason(err);
  if (reason === 'peer did not return a certificate')
    return {
      verb: 'refused',
      reason: 'the client sent no certificate (every node must present one)',
    };
  if (reason === 'wrong version number') {
    return {
      verb: 'refused',
      reason:
        'the client does not speak TLS (wrong version number): every node needs the tls option',
    };
  }
  if (reason === 'http request') return { verb: 'refused', reason: 'an HTTP request, not a node' };
  if (err.code === 'ECONNRESET') {
    return {
      verb: 'failed',
      reason:
        "the client closed the connection during the TLS handshake (it may not trust this node's certificate)",
    };
  }
  return { verb: 'refused', reason: describeSocketError(err) };
}
