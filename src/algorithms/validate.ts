/**
 * Option checks shared by the algorithms: validated once at construction, so the hot path can
 * trust its inputs, and a bad option fails naming the field, the expectation and the value.
 */

/** Describes a received value for an error message without dumping whole objects. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * Returns `value` when it is an integer in `[1, max]`.
 *
 * @throws TypeError naming `field` otherwise.
 */
export function requirePositiveInteger(field: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(
      `${field} must be a positive integer no greater than ${max}, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Returns `value` when it is a plain object (or `undefined`).
 *
 * @throws TypeError naming `field` otherwise.
 */
export function requireRecord(field: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${field} must be an object mapping node names to values, got ${describe(value)}`,
    );
  }
  return value as Record<string, unknown>;
}
