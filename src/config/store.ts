import { LogsError } from '../errors.js';
import type { ConfigFile } from './schema.js';

export type StoreConfig =
  | { readonly kind: 'file' }
  | {
      readonly kind: 'postgres';
      /** The connection string (it may hold a password: never printed). */
      readonly url: string;
      readonly schema: string;
      readonly poolSize: number;
    };

/** `store`: the file store unless a database is named (the URL itself is never echoed). */
export function resolveStore(s: ConfigFile['store'], source: string | undefined): StoreConfig {
  const kind = s?.kind ?? (s?.url === undefined ? 'file' : 'postgres');
  if (kind === 'file') return { kind };
  if (s?.url === undefined)
    throw new LogsError(
      'CONFIG_INVALID',
      `${source === undefined ? '' : `${source}: `}store.url: required for kind postgres (or set DIHYA_LOGS_DATABASE_URL)`,
    );
  return { kind, url: s.url, schema: s.schema ?? 'dihya_logs', poolSize: s.pool_size ?? 8 };
}
