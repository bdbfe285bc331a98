/**
 * Options of `startDashboard()`, validated once and resolved to a frozen copy; and the access
 * rule they imply: on a loopback address (127.0.0.0/8, ::1, `localhost`) the page is open to the
 * local machine, anywhere else it needs a token, generated when none is given.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { isLoopbackAddress } from '../addresses.js';
import { checkOptionNames, optionNames } from '../option-names.js';
import { optionError } from '../options.js';

/** Options of `startDashboard()`. */
export interface DashboardOptions {
  /** TCP port to listen on; 0 picks a free one (`dashboard.url` tells which). @default 0 */
  port?: number;
  /**
   * Address to listen on. Anything but a loopback address (127.0.0.0/8, `::1`, `localhost`)
   * makes the dashboard require a token.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * The token a request must carry (`?token=`, `Authorization: Bearer`, or the cookie the page
   * sets), at least 16 characters. Required on every request when given; on a non-loopback host
   * one is generated when not given (read it from `dashboard.token` or `dashboard.url`).
   * @default none on loopback, a random 32-character token elsewhere
   */
  token?: string;
  /** How often the page is sent a fresh view while it is open, in ms (100 to 60 000). @default 1000 */
  intervalMs?: number;
  /** Pages open at once; more are refused with 503. @default 16 */
  maxClients?: number;
}

/** @internal */
export interface ResolvedDashboardOptions {
  readonly port: number;
  readonly host: string;
  readonly token: string | undefined;
  readonly intervalMs: number;
  readonly maxClients: number;
}

/** The default listen address. */
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
/** The default refresh interval, ms. */
export const DEFAULT_DASHBOARD_INTERVAL_MS = 1_000;
const DEFAULT_MAX_CLIENTS = 16;
const MIN_TOKEN_LENGTH = 16;

const KNOWN = optionNames({
  port: true,
  host: true,
  token: true,
  intervalMs: true,
  maxClients: true,
} satisfies Record<keyof DashboardOptions, true>);

/** `true` when `host` only accepts connections from this machine: 127.0.0.0/8, `::1`, `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase() === 'localhost' || (isIP(bare) !== 0 && isLoopbackAddress(bare));
}

function integer(value: unknown, field: string, min: number, max: number, fallback: number) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(field, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** @internal Validates `options` (throwing a `TypeError` naming the field) and resolves defaults. */
export function resolveDashboardOptions(
  options: DashboardOptions | undefined,
): ResolvedDashboardOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw optionError('options', 'an object', options);
  }
  const input = options ?? {};
  checkOptionNames(input, KNOWN);
  const host = input.host ?? DEFAULT_DASHBOARD_HOST;
  if (typeof host !== 'string' || host === '') throw optionError('host', 'an address', host);
  const token = input.token;
  if (token !== undefined && (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH)) {
    throw optionError('token', `a string of at least ${MIN_TOKEN_LENGTH} characters`, token);
  }
  return Object.freeze({
    port: integer(input.port, 'port', 0, 65_535, 0),
    host,
    token: token ?? (isLoopbackHost(host) ? undefined : randomBytes(24).toString('base64url')),
    intervalMs: integer(input.intervalMs, 'intervalMs', 100, 60_000, DEFAULT_DASHBOARD_INTERVAL_MS),
    maxClients: integer(input.maxClients, 'maxClients', 1, 1_000, DEFAULT_MAX_CLIENTS),
  });
}
