/**
 * The cluster cookie: option, else `RPCLB_COOKIE`, else a random cookie kept in a per-user file
 * with mode 0600 (as Erlang does with `~/.erlang.cookie`), so nodes a user starts on one machine
 * find each other without configuration and nobody else's do.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** The per-user cookie file: `$RPCLB_COOKIE_FILE`, else `~/.rpclb.cookie`. */
export function defaultCookiePath(): string {
  return process.env.RPCLB_COOKIE_FILE || join(homedir(), '.rpclb.cookie');
}

/** Resolves the cookie to use when the `cookie` option is absent. */
export function resolveDefaultCookie(): string {
  const fromEnv = process.env.RPCLB_COOKIE;
  if (fromEnv) return fromEnv;
  return readOrCreateCookieFile(defaultCookiePath());
}

function readOrCreateCookieFile(path: string): string {
  try {
    const cookie = readFileSync(path, 'utf8').trim();
    if (cookie.length > 0) {
      // A cookie readable by others is no secret: tighten it as Erlang insists on.
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
      return cookie;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const cookie = randomBytes(24).toString('base64url');
  mkdirSync(dirname(path), { recursive: true });
  try {
    // 'wx': if another process created it first, read theirs so both agree.
    writeFileSync(path, `${cookie}\n`, { mode: 0o600, flag: 'wx' });
    return cookie;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8').trim();
    throw err;
  }
}
