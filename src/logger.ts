/**
 * The logging seam. The library logs rare, important events (refused connections, dropped
 * frames, peers declared down); it never logs per call.
 */

/** Where the library's log lines go. Any object with these methods (pino, console, ...) fits. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** A logger writing `[rpclb <node>] level: message` lines to stderr, from `level` up. */
export function consoleLogger(nodeName: string, level: LogLevel): Logger {
  const min = LEVELS[level];
  const line = (lvl: LogLevel, message: string) => {
    if (LEVELS[lvl] >= min) process.stderr.write(`[rpclb ${nodeName}] ${lvl}: ${message}\n`);
  };
  return {
    debug: (m) => line('debug', m),
    info: (m) => line('info', m),
    warn: (m) => line('warn', m),
    error: (m) => line('error', m),
  };
}
