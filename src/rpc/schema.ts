/**
 * Optional runtime validation of a call's arguments through the Standard Schema interface
 * (https://standardschema.dev, v1), which zod, valibot, arktype and others implement: the
 * library depends on none of them, only on the shape below, declared here.
 *
 * A function exposed with a schema is wrapped once, at expose time: the wrapper validates the
 * arguments and either throws `bad_request` (`details.reason: 'invalid_arguments'`, listing the
 * issues), before the handler runs, or calls the handler with the validated values (a schema
 * that transforms, e.g. coerces, hands the handler its output).
 */
import { RpcError } from '../errors.js';
import { describe } from '../options.js';

/** The Standard Schema v1 interface (the `~standard` property), as its spec defines it. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The standard properties. */
  readonly '~standard': StandardSchemaV1Props<Input, Output>;
}

/** The `~standard` properties of a {@link StandardSchemaV1}. */
export interface StandardSchemaV1Props<Input = unknown, Output = Input> {
  /** The version of the interface: 1. */
  readonly version: 1;
  /** The library that made the schema (e.g. `'zod'`). */
  readonly vendor: string;
  /** Validates `value`: its (possibly transformed) value, or the issues found. */
  readonly validate: (
    value: unknown,
  ) => StandardSchemaV1Result<Output> | Promise<StandardSchemaV1Result<Output>>;
  /** The schema's types, for inference only. */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/** What a Standard Schema's `validate` returns. */
export type StandardSchemaV1Result<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly StandardSchemaV1Issue[] };

/** One problem a Standard Schema found. */
export interface StandardSchemaV1Issue {
  /** What is wrong. */
  readonly message: string;
  /** Where: property keys, or segments holding one. */
  readonly path?: readonly (PropertyKey | { readonly key: PropertyKey })[] | undefined;
}

/** An issue as it travels in `details.issues`: the path as strings and numbers. */
export interface ArgumentIssue {
  /** What is wrong. */
  message: string;
  /** Where, from the argument list: `[0, 'name']` is the first argument's `name`. */
  path: (string | number)[];
}

/**
 * The schema of a function's arguments: one schema for the whole argument list (a tuple
 * schema, e.g. `z.tuple([z.number(), z.number()])`), or an array of one schema per argument.
 * Typed against the handler's parameters: a schema whose output does not fit them fails to
 * compile.
 */
export type ArgumentsSchema<F> = F extends (...args: infer P) => unknown
  ? StandardSchemaV1<unknown, P> | { readonly [I in keyof P]: StandardSchemaV1<unknown, P[I]> }
  : never;

/** Per-function argument schemas of module `M` (see `node.expose`). */
export type ModuleSchemas<M> = { readonly [K in keyof M]?: ArgumentsSchema<M[K]> };

/** At most this many issues travel in one error (the rest are counted in the message). */
const MAX_ISSUES = 20;

type Result = StandardSchemaV1Result<unknown>;
type AnyHandler = (...args: unknown[]) => unknown;

/**
 * `handler` behind a check of its arguments against `schema`. Throws a `TypeError` when
 * `schema` is neither a Standard Schema nor an array of them.
 */
export function withArgumentSchema(
  module: string,
  fn: string,
  handler: AnyHandler,
  schema: unknown,
): AnyHandler {
  const check = argumentCheck(`${module}.${fn}`, schema);
  const finish = (result: Result): unknown => {
    if (result.issues !== undefined) throw invalidArguments(module, fn, result.issues);
    return Reflect.apply(handler, undefined, result.value as unknown[]);
  };
  return (...args: unknown[]) => {
    const result = check(args);
    return result instanceof Promise ? result.then(finish) : finish(result);
  };
}

/** A function validating an argument list, from either form of schema. */
function argumentCheck(
  where: string,
  schema: unknown,
): (args: unknown[]) => Result | Promise<Result> {
  if (isStandardSchema(schema)) {
    const validate = schema['~standard'].validate;
    return (args) => validate(args);
  }
  if (!Array.isArray(schema) || !schema.every(isStandardSchema)) {
    throw new TypeError(
      `expose: the schema of ${where} must be a Standard Schema (an object with a "~standard" property of version 1) or an array of them, received ${describe(schema)}`,
    );
  }
  const schemas = schema as readonly StandardSchemaV1[];
  return (args) => {
    if (args.length > schemas.length) {
      return {
        issues: [
          {
            message: `expected at most ${schemas.length} arguments, received ${args.length}`,
            path: [],
          },
        ],
      };
    }
    const results = schemas.map((s, i) => s['~standard'].validate(args[i]));
    return results.some((r) => r instanceof Promise)
      ? Promise.all(results).then(combine)
      : combine(results as Result[]);
  };
}

/** One result for the argument list from one per argument (issue paths start at the index). */
function combine(results: readonly Result[]): Result {
  const issues: StandardSchemaV1Issue[] = [];
  const values: unknown[] = [];
  results.forEach((result, i) => {
    if (result.issues === undefined) values.push(result.value);
    else
      for (const issue of result.issues)
        issues.push({ message: issue.message, path: [i, ...(issue.path ?? [])] });
  });
  return issues.length > 0 ? { issues } : { value: values };
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.[
    '~standard'
  ];
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    props?.version === 1 &&
    typeof props.validate === 'function'
  );
}

/** The `bad_request` for arguments a schema refused. */
function invalidArguments(
  module: string,
  fn: string,
  found: readonly StandardSchemaV1Issue[],
): RpcError {
  const issues: ArgumentIssue[] = found.slice(0, MAX_ISSUES).map((issue) => ({
    message: String(issue.message),
    path: (issue.path ?? []).map((segment) => pathKey(segment)),
  }));
  const listed = issues
    .map((issue) =>
      issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    )
    .join('; ');
  const more = found.length > MAX_ISSUES ? ` (and ${found.length - MAX_ISSUES} more)` : '';
  return new RpcError('bad_request', `invalid arguments for ${module}.${fn}: ${listed}${more}`, {
    details: { reason: 'invalid_arguments', issues },
    notExecuted: true,
  });
}

function pathKey(segment: PropertyKey | { readonly key: PropertyKey }): string | number {
  const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
  return typeof key === 'number' ? key : String(key);
}
