/**
 * Polyv's answers checked against their zod schemas (polyv/endpoints.ts) in place: the same
 * verdict as zod's `safeParse`, without zod's copy.
 *
 * Why not zod alone: zod answers with a new object for every object it reads and allocates a
 * result for every field on the way, 0.7 MB for the bench's page of 100 red packs with 839
 * receives, a fifth of everything a cold request allocated (issue 23, heap sampling). Our
 * toModel copies each record anyway, so that copy is pure garbage, and garbage is what made a cold
 * request's collector cost 3× the minimal proxy's. Checked here, the same page takes 93 µs and
 * allocates nothing; zod takes 148 µs (Node 24). A property test holds the verdicts equal on
 * generated and mutated pages (test/wireCheck.test.ts).
 *
 * How: the schema is walked once into a tree of closures (no generated code) for the constructs
 * Polyv's schemas use: object (zod's default, which ignores unknown keys), string, number (finite;
 * optionally a safe integer, optionally ≥ 0), boolean, unknown, array, union, optional, nullable.
 * A schema with anything else (a transform, a default, another check) is zod's alone, since only
 * a schema without transforms answers with what it was given. What the check accepts is returned
 * as it came, unknown keys included (nothing reads them); what it refuses, zod parses again, so
 * the error a client sees names the same path and problem as ever.
 */
import type { z } from 'zod';

/** Whether a value is what its schema describes. */
type Check = (value: unknown) => boolean;

/** zod's own definition of a schema, as far as the walk reads it. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: unknown;
  element?: z.ZodType;
  options?: readonly z.ZodType[];
  innerType?: z.ZodType;
  checks?: ReadonlyArray<{ _zod: { def: CheckDef } }>;
}
interface CheckDef {
  check: string;
  format?: string;
  value?: unknown;
  inclusive?: boolean;
  when?: unknown;
}
/** Whether zod lets an object's key be absent: `optional` on the way in and on the way out. */
interface Optionality {
  optin?: string;
  optout?: string;
}

const internals = (schema: z.ZodType) =>
  (schema as unknown as { _zod: Optionality & { def: Def } })._zod;

/** The check for a schema, or undefined where the schema uses a construct the walk does not know. */
function build(schema: z.ZodType): Check | undefined {
  const def = internals(schema).def;
  const checks = def.checks ?? [];
  if (def.type !== 'number' && checks.length > 0) return undefined;
  switch (def.type) {
    case 'string':
      return (value) => typeof value === 'string';
    case 'boolean':
      return (value) => typeof value === 'boolean';
    case 'unknown':
    case 'any':
      return () => true;
    case 'number':
      return numberCheck(checks.map((check) => check._zod.def));
    case 'optional': {
      const inner = def.innerType && build(def.innerType);
      return inner && ((value) => value === undefined || inner(value));
    }
    case 'nullable': {
      const inner = def.innerType && build(def.innerType);
      return inner && ((value) => value === null || inner(value));
    }
    case 'array': {
      const element = def.element && build(def.element);
      return (
        element &&
        ((value) => {
          if (!Array.isArray(value)) return false;
          for (let i = 0; i < value.length; i++) if (!element(value[i])) return false;
          return true;
        })
      );
    }
    case 'union': {
      const options = (def.options ?? []).map(build);
      if (options.length === 0 || options.some((option) => !option)) return undefined;
      const accepts = options as Check[];
      return (value) => {
        // A loop, not `some`: no closure allocated per value checked.
        for (const accept of accepts) if (accept(value)) return true;
        return false;
      };
    }
    case 'object':
      return def.catchall === undefined && def.shape ? objectCheck(def.shape) : undefined;
    default:
      return undefined;
  }
}

function numberCheck(checks: CheckDef[]): Check | undefined {
  let integer = false;
  let nonNegative = false;
  for (const check of checks) {
    if (check.when !== undefined) return undefined;
    if (check.check === 'number_format' && check.format === 'safeint') integer = true;
    else if (check.check === 'greater_than' && check.value === 0 && check.inclusive)
      nonNegative = true;
    else return undefined;
  }
  if (integer)
    return nonNegative
      ? (value) => Number.isSafeInteger(value) && (value as number) >= 0
      : (value) => Number.isSafeInteger(value);
  return nonNegative
    ? (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0
    : (value) => typeof value === 'number' && Number.isFinite(value);
}

function objectCheck(shape: Record<string, z.ZodType>): Check | undefined {
  const keys = Object.keys(shape);
  const checks: Check[] = [];
  /** A key zod requires although its schema accepts undefined: it must be there. */
  const mustBePresent: boolean[] = [];
  for (const key of keys) {
    const check = build(shape[key]!);
    if (!check) return undefined;
    const { optin, optout } = internals(shape[key]!);
    const optional = optin === 'optional' && optout === 'optional';
    // Any other kind of optional (defaulted, optional one way only) is zod's to read.
    if (optin !== undefined && !optional) return undefined;
    checks.push(check);
    mustBePresent.push(!optional && check(undefined));
  }
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    const input = value as Record<string, unknown>;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!checks[i]!(input[key])) return false;
      if (mustBePresent[i] && !(key in input)) return false;
    }
    return true;
  };
}

const built = new WeakMap<z.ZodType, Check | null>();

/** The schema's in-place check, built on first use; null where zod must read it. */
export function wireCheckOf(schema: z.ZodType): Check | null {
  let check = built.get(schema);
  if (check === undefined) {
    check = build(schema) ?? null;
    built.set(schema, check);
  }
  return check;
}

/** `schema.safeParse(value)`'s verdict; a value the check accepts is answered as it came. */
export function readWire<T>(schema: z.ZodType<T>, value: unknown): z.ZodSafeParseResult<T> {
  const check = wireCheckOf(schema);
  if (check?.(value)) return { success: true, data: value as T };
  return schema.safeParse(value);
}
