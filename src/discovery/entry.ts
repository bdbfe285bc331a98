/**
 * The optional fields of a discovered node (`groups`, `incarnation`), checked: they come from a
 * backend's store, which anyone with access to it may have written, so whatever is malformed is
 * dropped field by field while the entry itself stays usable.
 */

/** The longest incarnation accepted from a backend. */
export const MAX_INCARNATION_LENGTH = 64;

/**
 * The well-formed part of a groups record: own keys that are non-empty strings, with join
 * counts that are positive safe integers. `undefined` when `value` is not a plain object at all.
 * The result is frozen and built with `Object.fromEntries`, so a group named `__proto__` is an
 * own property, not a prototype.
 */
export function readGroups(value: unknown): Readonly<Record<string, number>> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const kept: [string, number][] = [];
  for (const [group, count] of Object.entries(value)) {
    if (group.length > 0 && Number.isSafeInteger(count) && (count as number) > 0)
      kept.push([group, count as number]);
  }
  return Object.freeze(Object.fromEntries(kept));
}

/** `value` when it is a non-empty string of at most {@link MAX_INCARNATION_LENGTH} characters. */
export function readIncarnation(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_INCARNATION_LENGTH
    ? value
    : undefined;
}

/** The checked `groups` and `incarnation` of `raw`, as fields to spread into an entry. */
export function readExtras(raw: { groups?: unknown; incarnation?: unknown }): {
  groups?: Readonly<Record<string, number>>;
  incarnation?: string;
} {
  const groups = readGroups(raw.groups);
  const incarnation = readIncarnation(raw.incarnation);
  return {
    ...(groups === undefined ? {} : { groups }),
    ...(incarnation === undefined ? {} : { incarnation }),
  };
}
