/**
 * The kinds of value a setting takes. A type reads a setting's text (from the environment, or a
 * scalar of the configuration file), or a list or map of the file where it takes one; says what
 * it accepts in words (the Accepts column of docs/configuration.md); and shows a value as the
 * docs do. Its messages name what is expected and, except for text, what was given:
 * `must be an integer from 0 to 65535; got "abc"`. Text is never echoed: it may be a secret.
 */
import express from 'express';
import { z } from 'zod';
import { isCalendarDay } from '../domain/convert.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

export interface SettingType<T> {
  /** What it accepts, in words (Markdown). */
  readonly accepts: string;
  /** Reads a value from its text. */
  parse(text: string): Parsed<T>;
  /** Reads a value of the configuration file that is not text: a list or a map (see fileValue). */
  fromFile?(value: unknown): Parsed<T>;
  /** A value as docs/configuration.md shows it. */
  show(value: T): string;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(problem: string): Parsed<T> => ({ ok: false, problem });
const code = (value: unknown) => `\`${String(value)}\``;
/** `a`, `a or b`, `a, b or c`. */
const either = (values: readonly string[]) =>
  values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values.at(-1)}`;

/**
 * A value of the configuration file, read by a setting's type: text as from the environment, a
 * number or a boolean as its text, a list or a map only by a type that takes one.
 */
export function fileValue<T>(type: SettingType<T>, value: unknown): Parsed<T> {
  if (typeof value === 'string') return type.parse(value);
  if (type.fromFile) return type.fromFile(value);
  if (typeof value === 'number' || typeof value === 'boolean') return type.parse(String(value));
  return fail(`must be ${type.accepts}; got ${Array.isArray(value) ? 'a list' : 'a map'}`);
}

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * An integer, read as Number() reads it (blanks around it aside): `1e5` is 100000, a blank is no
 * number. Whatever is wrong (not a number, a fraction, out of range), the message says what is
 * expected and what was given.
 */
export function integer(min: number, max = MAX): SettingType<number> {
  const range = max === MAX ? `of at least ${min}` : `from ${min} to ${max}`;
  return {
    accepts: `an integer ${range}`,
    parse(text) {
      const value = text.trim() === '' ? Number.NaN : Number(text);
      return Number.isSafeInteger(value) && value >= min && value <= max
        ? ok(value)
        : fail(`must be an integer ${range}; got ${JSON.stringify(text)}`);
    },
    show: code,
  };
}

/** `on` or `off`, as a boolean (in the file also `true` or `false`). */
export const onOff: SettingType<boolean> = {
  accepts: '`on`, `off`',
  parse(text) {
    const word = text.trim();
    if (word === 'on' || word === 'off') return ok(word === 'on');
    return fail(`must be on or off; got ${JSON.stringify(text)}`);
  },
  fromFile: (value) => (typeof value === 'boolean' ? ok(value) : onOff.parse(String(value))),
  show: (value) => code(value ? 'on' : 'off'),
};

/** `true` or `false` in any case, as a boolean: the OpenTelemetry SDK's booleans. */
export const trueFalse: SettingType<boolean> = {
  accepts: '`true`, `false`',
  parse(text) {
    const word = text.trim().toLowerCase();
    if (word === 'true' || word === 'false') return ok(word === 'true');
    return fail(`must be true or false; got ${JSON.stringify(text)}`);
  },
  show: code,
};

/** One of a few words. */
export function oneOf<const V extends string>(values: readonly V[]): SettingType<V> {
  return {
    accepts: values.map(code).join(', '),
    parse(text) {
      const word = text.trim();
      return (values as readonly string[]).includes(word)
        ? ok(word as V)
        : fail(
            `must be ${values.length > 2 ? 'one of ' : ''}${either(values)}; got ${JSON.stringify(text)}`,
          );
    },
    show: code,
  };
}

/** A calendar day written `yyyy-MM-dd`, one that exists (no 2026-02-30). */
export const calendarDay: SettingType<string> = {
  accepts: 'a day, `yyyy-MM-dd`',
  parse(text) {
    const day = text.trim();
    return isCalendarDay(day)
      ? ok(day)
      : fail(`must be a real calendar day written yyyy-MM-dd; got ${JSON.stringify(text)}`);
  },
  show: code,
};

/** Text, blanks around it trimmed; never echoed in a message. */
export function text(options: { minLength?: number } = {}): SettingType<string> {
  const { minLength = 1 } = options;
  return {
    accepts: minLength > 1 ? `text of ${minLength} characters or more` : 'text',
    parse(raw) {
      const value = raw.trim();
      if (value === '') return fail('must not be blank');
      if (value.length < minLength) return fail(`must be at least ${minLength} characters`);
      return ok(value);
    },
    show: code,
  };
}

/** A URL of one of a few schemes, as zod checks it: `must be an http(s) URL`. */
export function url(options: { protocol: RegExp; expected: string; accepts: string }) {
  const schema = z.url({ protocol: options.protocol });
  const type: SettingType<string> = {
    accepts: options.accepts,
    parse: (raw) =>
      schema.safeParse(raw.trim()).success ? ok(raw.trim()) : fail(`must be ${options.expected}`),
    show: code,
  };
  return type;
}

/** Items separated by commas (in the file, also a list); blanks around each trimmed. */
const items = (raw: string) =>
  raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const listFromFile =
  <T>(type: SettingType<T>) =>
  (value: unknown): Parsed<T> => {
    if (Array.isArray(value) && value.every((item) => typeof item === 'string'))
      return type.parse(value.join(','));
    if (typeof value === 'number') return type.parse(String(value));
    return fail(`must be ${type.accepts}`);
  };

/** Browser origins separated by commas, or `*` (any). */
export const origins: SettingType<'*' | string[]> = {
  accepts: '`*`, or origins separated by commas',
  parse: (raw) => ok(raw.trim() === '*' ? '*' : items(raw)),
  fromFile: (value) => listFromFile(origins)(value),
  show: (value) =>
    value === '*' ? code('*') : value.length === 0 ? 'none' : code(value.join(',')),
};

/**
 * Who may say who the client is, as Express's `trust proxy`: `off` (the peer address is the
 * client), a hop count, or proxy addresses and subnets (or `loopback`, `linklocal`,
 * `uniquelocal`). Express compiles the list here, so a typo is refused at start-up, not at the
 * first request.
 */
export const trustProxy: SettingType<false | number | string[]> = {
  accepts: '`off`, a hop count, or proxy addresses/subnets separated by commas',
  parse(raw) {
    const setting = raw.trim();
    if (setting === 'off' || setting === 'false') return ok(false);
    if (/^\d+$/.test(setting)) return ok(Number(setting));
    const proxies = items(setting);
    try {
      express().set('trust proxy', proxies);
      return ok(proxies);
    } catch (error) {
      return fail(
        `must be off, a hop count, or proxy addresses/subnets (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  },
  fromFile: (value) => (value === false ? ok(false) : listFromFile(trustProxy)(value)),
  show: (value) =>
    value === false ? code('off') : code(Array.isArray(value) ? value.join(',') : value),
};

/**
 * Seconds by endpoint: `redPackStatistics=30,incomeDetail=60` (in the file, a map). Any key of
 * letters reads; it must then be one of `endpoints`. An endpoint left out keeps its default.
 */
export function secondsByEndpoint<const E extends string>(
  defaults: Readonly<Record<E, number>>,
): SettingType<Record<E, number>> {
  const known = Object.keys(defaults) as E[];
  const seconds = integer(0);
  const show = (value: Record<E, number>) =>
    code(known.map((endpoint) => `${endpoint}=${value[endpoint]}`).join(','));
  const read = (entries: [string, unknown][]): Parsed<Record<E, number>> => {
    const value: Record<E, number> = { ...defaults };
    const seen = new Set<string>();
    for (const [key, given] of entries) {
      if (!/^[a-zA-Z]+$/.test(key))
        return fail(
          `must be endpoint=seconds pairs separated by commas, e.g. ${show(defaults)}; got ${JSON.stringify(key)}`,
        );
      if (!(known as string[]).includes(key))
        return fail(`unknown endpoint ${JSON.stringify(key)} (known: ${known.join(', ')})`);
      if (seen.has(key)) return fail(`${key} is given twice`);
      seen.add(key);
      const parsed =
        typeof given === 'string' || typeof given === 'number'
          ? seconds.parse(String(given))
          : fail<number>(`must be ${seconds.accepts}; got ${JSON.stringify(given)}`);
      if (!parsed.ok) return fail(`${key}: ${parsed.problem}`);
      value[key as E] = parsed.value;
    }
    return ok(value);
  };
  return {
    accepts: `\`endpoint=seconds\` pairs separated by commas (endpoints: ${known.map(code).join(', ')}), each ${seconds.accepts}`,
    parse: (raw) =>
      read(
        items(raw).map((item) => {
          const at = item.indexOf('=');
          return at < 0 ? [item, ''] : [item.slice(0, at).trim(), item.slice(at + 1)];
        }),
      ),
    fromFile: (value) =>
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? read(Object.entries(value))
        : fail(`must be a map of endpoint to seconds, e.g. ${show(defaults)}`),
    show,
  };
}
