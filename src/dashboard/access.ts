/**
 * Who may read the dashboard. With a token, every request must carry it (query `?token=`,
 * `Authorization: Bearer`, or the cookie the page gets when opened with `?token=`), compared in
 * constant time. Without one (loopback only), the `Host` header must name a loopback address or
 * `localhost`, so a web page elsewhere cannot read the dashboard through DNS rebinding.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isLoopbackHost } from './options.js';

/** What {@link checkAccess} decided. */
export type Access =
  | { readonly ok: true; readonly fromQuery: boolean }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

const digest = (value: string) => createHash('sha256').update(value).digest();

/** `true` when `candidate` equals `token`, in time that does not depend on where they differ. */
export function sameToken(candidate: string, token: string): boolean {
  // Hashing first gives both sides one length, so the comparison does not leak the token's.
  return timingSafeEqual(digest(candidate), digest(token));
}

/** The token a request carries, and where: the header first, then the cookie, then the query. */
function presented(req: IncomingMessage, url: URL, cookie: string) {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer) return { value: bearer, fromQuery: false };
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === cookie) {
      return { value: decodeURIComponent(part.slice(eq + 1).trim()), fromQuery: false };
    }
  }
  const query = url.searchParams.get('token');
  return query ? { value: query, fromQuery: true } : undefined;
}

/** The host name of a `Host` header (`[::1]:8080` → `::1`), or `undefined` when malformed. */
function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/.exec(header);
  return match ? ((match[1] ?? match[2]) as string) : undefined;
}

/** Decides whether `req` may be answered. */
export function checkAccess(
  req: IncomingMessage,
  url: URL,
  token: string | undefined,
  cookie: string,
): Access {
  if (token === undefined) {
    const host = hostName(req.headers.host);
    if (host !== undefined && isLoopbackHost(host)) return { ok: true, fromQuery: false };
    return {
      ok: false,
      status: 403,
      message: `this dashboard answers requests for a loopback host only (Host: ${JSON.stringify(req.headers.host ?? '')})`,
    };
  }
  const given = presented(req, url, cookie);
  if (given && sameToken(given.value, token)) return { ok: true, fromQuery: given.fromQuery };
  return {
    ok: false,
    status: 401,
    message: given
      ? 'wrong token'
      : 'this dashboard needs its token: open the URL it printed at start (…/?token=…)',
  };
}
