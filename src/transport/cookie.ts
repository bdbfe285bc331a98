/**
 * The cluster cookie: option, else `RPCLB_COOKIE`, else a cookie kept in a file readable by its
 * owner only (as Erlang does with `~/.erlang.cookie`): `RPCLB_COOKIE_FILE` when set (it must
 * exist: a mistyped path must not quietly give a node a cookie of its own), else
 * `~/.rpclb.cookie`, created with a random cookie the first time. Nodes a user starts on one
 * machine then find each other without configuration, and nobody else's do.
 *
 * Every problem with the file is a `TypeError` at `startNode`, saying what to do, rather than a
 * raw file-system error or a silently different cookie.
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
  const explicit = Boolean(process.env.RPCLB_COOKIE_FILE);
  return readOrCreateCookieFile(defaultCookiePath(), explicit);
}

const HOW_ELSE = 'or give the cookie with the `cookie` option or RPCLB_COOKIE';

function cookieFileError(path: string, problem: string, cause?: unknown): TypeError {
  return new TypeError(
    `cookie file ${path} ${problem}`,
    cause === undefined ? undefined : { cause },
  );
}

function readCookieFile(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EACCES')
      throw cookieFileError(
        path,
        `cannot be read by this user: fix its owner or mode, ${HOW_ELSE}`,
        err,
      );
    if (code === 'EISDIR') throw cookieFileError(path, `is a directory, ${HOW_ELSE}`, err);
    throw cookieFileError(
      path,
      `cannot be read (${code ?? (err as Error).message}), ${HOW_ELSE}`,
      err,
    );
  }
  const cookie = text.trim();
  if (cookie.length === 0)
    throw cookieFileError(path, `is empty: put the cluster's cookie in it (one line), ${HOW_ELSE}`);
  keepPrivate(path);
  return cookie;
}

/** A cookie readable by others is no secret: tighten it to 0600, as Erlang insists on. */
function keepPrivate(path: string): void {
  const mode = statSync(path).mode;
  if ((mode & 0o077) === 0) return;
  try {
    chmodSync(path, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EPERM'
        ? 'and belongs to another user, so this node cannot make it private'
        : code === 'EROFS'
          ? 'on a read-only file system, so this node cannot make it private'
          : `and cannot be made private (${code ?? (err as Error).message})`;
    throw cookieFileError(
      path,
      `is readable by other users (mode ${(mode & 0o777).toString(8)}) ${why}: run \`chmod 600 ${path}\` as its owner (a mounted secret: give it mode 0400 or 0600), ${HOW_ELSE}`,
      err,
    );
  }
}

function readOrCreateCookieFile(path: string, explicit: boolean): string {
  const existing = readCookieFile(path);
  if (existing !== undefined) return existing;
  if (explicit) {
    throw cookieFileError(
      path,
      `(RPCLB_COOKIE_FILE) does not exist: create it with the cluster's cookie (one line), or unset RPCLB_COOKIE_FILE to use ~/.rpclb.cookie, ${HOW_ELSE}`,
    );
  }
  const cookie = randomBytes(24).toString('base64url');
  try {
    mkdirSync(dirname(path), { recursive: true });
    // 'wx': if another process created it first, read theirs so both agree.
    writeFileSync(path, `${cookie}\n`, { mode: 0o600, flag: 'wx' });
    return cookie;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      return readCookieFile(path) ?? cookie;
    }
    const code = (err as NodeJS.ErrnoException).code;
    throw cookieFileError(
      path,
      `cannot be created (${code ?? (err as Error).message}), ${HOW_ELSE}`,
      err,
    );
  }
}
