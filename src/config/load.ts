import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { LogsError } from '../errors.js';
import { resolveConfig, type Config } from './resolve.js';

/** Names looked for in the working directory, in this order. */
export const CONFIG_NAMES = ['dihya-logs.yaml', 'dihya-logs.yml', 'dihya-logs.json'] as const;
export const CONFIG_ENV = 'DIHYA_LOGS_CONFIG';
export const DIR_ENV = 'DIHYA_LOGS_DIR';
/** The PostgreSQL store's connection string (overrides `store.url`; selects the store). */
export const DATABASE_URL_ENV = 'DIHYA_LOGS_DATABASE_URL';

export interface LoadOptions {
  /** `--config FILE`. */
  readonly file?: string | undefined;
  /** `--dir DIR`: overrides the environment and the file. */
  readonly dir?: string | undefined;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Find, read, validate and freeze the configuration: `--config`, else DIHYA_LOGS_CONFIG, else
 * `dihya-logs.yaml` in the working directory, else the defaults. DIHYA_LOGS_DIR and `--dir`
 * override the file's `dir`.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.file ?? (env[CONFIG_ENV] === '' ? undefined : env[CONFIG_ENV]);
  let file: string | undefined;
  if (explicit !== undefined) {
    file = path.resolve(cwd, explicit);
    if (!existsSync(file))
      throw new LogsError('CONFIG_NOT_FOUND', `configuration file ${file} does not exist`);
  } else {
    file = CONFIG_NAMES.map((n) => path.join(cwd, n)).find((f) => existsSync(f));
  }
  let raw: unknown = {};
  if (file !== undefined) {
    try {
      raw = parse(readFileSync(file, 'utf8'), { maxAliasCount: 100 }) ?? {};
    } catch (err) {
      throw new LogsError(
        'CONFIG_INVALID',
        `${file}: not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`,
        {
          cause: err,
        },
      );
    }
  }
  const dirOverride = options.dir ?? (env[DIR_ENV] === '' ? undefined : env[DIR_ENV]);
  if (dirOverride !== undefined && typeof raw === 'object' && raw !== null) {
    raw = { ...raw, dir: path.resolve(cwd, dirOverride) };
  }
  const dbUrl = env[DATABASE_URL_ENV];
  if (dbUrl !== undefined && dbUrl !== '' && typeof raw === 'object' && raw !== null) {
    const store = (raw as { store?: unknown }).store;
    raw = { ...raw, store: { ...(typeof store === 'object' ? store : {}), url: dbUrl } };
  }
  return resolveConfig(raw, file === undefined ? cwd : path.dirname(file), file);
}
