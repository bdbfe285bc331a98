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
export function requireRecord(
  field: string,
  value: unknown,
  expected = 'an object mapping node names to values',
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${field} must be ${expected}, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Returns `value`, or `fallback` when it is `undefined`, after checking it is a finite number in
 * `[min, max]` (`max` may be `Infinity`).
 *
 * @throws TypeError naming `field` otherwise.
 */
export function optionalNumber(
  field: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `between ${min} and ${max}`;
    throw new TypeError(`${field} must be a number ${range}, got ${describe(value)}`);
  }
  return value;
}

/**
 * Returns `value` when it is an array of the stable error codes (or `undefined`).
 *
 * @throws TypeError naming `field` otherwise.
 */
export function optionalCodes(
  field: string,
  value: unknown,
  isCode: (code: unknown) => boolean,
): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isCode)) {
    throw new TypeError(`${field} must be an array of error codes, got ${describe(value)}`);
  }
  return Object.freeze([...value]);
}
