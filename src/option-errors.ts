/**
 * The configuration errors every option check throws, in one leaf module (it imports nothing),
 * so option modules can share them without importing each other.
 */

/** The configuration error for `field`: what was expected and what was received. */
export function optionError(field: string, expected: string, received: unknown): TypeError {
  return new TypeError(`option "${field}" must be ${expected}, received ${describe(received)}`);
}

/** A short, safe description of a received value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `an object (${value.constructor?.name ?? 'null prototype'})`;
}
