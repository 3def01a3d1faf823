/**
 * The configuration file (GATEWAY_CONFIG_FILE): YAML (JSON is YAML too), a map of settings keyed
 * by their variable names. Text in it may take a variable of the environment, `${env.NAME}`, as
 * Apollo Router's router.yaml does: a secret is written that way, never itself. Here the file is
 * read, its keys are checked against the declarations and its references replaced; its values
 * are then read by each setting's own type (./index.ts), as the environment's are.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { parse as parseYaml } from 'yaml';
import { SETTINGS, type SettingName } from './settings.js';

/**
 * The YAML parser, loaded when a file is read: most gateways have none, and it is 280 kB of
 * source held in every process that loads it. Synchronous (its CommonJS build), as reading the
 * configuration is.
 */
const yaml = (): { parse: typeof parseYaml } =>
  createRequire(import.meta.url)('yaml') as { parse: typeof parseYaml };

/** A value of the file, with the setting it is for. */
export interface FileEntry {
  name: SettingName;
  value: unknown;
}

const isSetting = (key: string): key is SettingName => Object.hasOwn(SETTINGS, key);
const REFERENCE = /\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The file's settings; what is wrong with it goes to `problems`, each naming the file. */
export function readConfigFile(
  file: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): FileEntry[] {
  const { parse } = yaml();
  let document: unknown;
  try {
    document = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // The first line: YAML's errors go on to quote the file, which may hold a secret.
    const reason = String((error as { message?: unknown }).message ?? error).split('\n')[0];
    problems.push(`GATEWAY_CONFIG_FILE: cannot read ${file}: ${reason}`);
    return [];
  }
  if (document === null || document === undefined) return [];
  if (typeof document !== 'object' || Array.isArray(document)) {
    problems.push(`GATEWAY_CONFIG_FILE: ${file} must be a map of settings (NAME: value)`);
    return [];
  }
  const entries: FileEntry[] = [];
  for (const [key, raw] of Object.entries(document)) {
    const where = `${key} (in ${file})`;
    if (!isSetting(key)) {
      const guess = key.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
      problems.push(
        `${where}: not a setting${isSetting(guess) ? `; did you mean ${guess}?` : ''} (see docs/configuration.md)`,
      );
      continue;
    }
    const { environmentOnly, secret } = SETTINGS[key];
    if (environmentOnly) {
      problems.push(`${where}: set it in the environment, not in the file: ${environmentOnly}`);
      continue;
    }
    if (raw === null || raw === '') continue; // as an empty variable: not set
    if (
      secret &&
      !(typeof raw === 'string' && /^\s*\$\{env\.[A-Za-z_][A-Za-z0-9_]*\}\s*$/.test(raw))
    ) {
      problems.push(
        `${where}: a secret: write \${env.NAME} and set that variable, or set ${key} in the environment`,
      );
      continue;
    }
    const value = interpolate(raw, env, (problem) => problems.push(`${where}: ${problem}`));
    if (value !== undefined) entries.push({ name: key, value });
  }
  return entries;
}

/**
 * Replaces `${env.NAME}` in the text of a value (in the items of a list and the values of a map
 * too) with the variable's value. An unset or empty variable, or a `${…}` of another form, is a
 * problem: the value is then undefined.
 */
function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problem: (message: string) => void,
): unknown {
  if (typeof value === 'string') {
    let failed = false;
    const replaced = value.replace(REFERENCE, (_reference, name: string) => {
      const given = env[name];
      if (given === undefined || given === '') {
        problem(`\${env.${name}}: ${name} is not set`);
        failed = true;
      }
      return given ?? '';
    });
    if (failed) return undefined;
    if (value.replace(REFERENCE, '').includes('${')) {
      problem('${…} takes a variable of the environment only: ${env.NAME}');
      return undefined;
    }
    return replaced;
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => interpolate(item, env, problem));
    return items.includes(undefined) ? undefined : items;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([key, item]) => [
      key,
      interpolate(item, env, problem),
    ]);
    return entries.some(([, item]) => item === undefined) ? undefined : Object.fromEntries(entries);
  }
  return value;
}
