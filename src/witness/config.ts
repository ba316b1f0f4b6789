import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { LogsError } from '../errors.js';
import {
  SIG_ED25519,
  isValidKeyName,
  keyIdHex,
  parseVerifierKey,
  type NoteVerifier,
} from '../integrity/note/index.js';

/**
 * The witness configuration (YAML or JSON), validated once and frozen:
 *
 *   name: witness.example.org/w1          # the witness's key name
 *   key_file: /etc/dihya-witness/w1.key   # PRIVATE+KEY+..., mode 0600
 *   state_dir: /var/lib/dihya-witness     # one file per log, mode 0600, directory 0700
 *   host: 127.0.0.1                       # default
 *   port: 7380                            # default
 *   logs:
 *     - origin: example.com/log1
 *       keys: [ "example.com/log1+1a2b3c4d+AV..." ]
 *
 * Relative paths are taken from the configuration file's directory.
 */
export interface WitnessConfig {
  readonly file: string | undefined;
  readonly name: string;
  readonly keyFile: string;
  readonly stateDir: string;
  readonly host: string;
  readonly port: number;
  /** Largest add-checkpoint body, bytes. */
  readonly bodyLimit: number;
  /** The logs witnessed: origin → the log's Ed25519 verifier keys. */
  readonly logs: ReadonlyMap<string, readonly NoteVerifier[]>;
}

export const DEFAULT_WITNESS_PORT = 7380;
export const DEFAULT_WITNESS_BODY_LIMIT = 64 * 1024;

const schema = z
  .object({
    name: z.string().refine(isValidKeyName, 'a key name: no space, no "+", not empty'),
    key_file: z.string().min(1),
    state_dir: z.string().min(1),
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(DEFAULT_WITNESS_PORT),
    body_limit: z
      .number()
      .int()
      .min(4096)
      .max(1024 * 1024)
      .default(DEFAULT_WITNESS_BODY_LIMIT),
    logs: z
      .array(
        z
          .object({
            origin: z.string().min(1).max(1024),
            keys: z.array(z.string()).min(1).max(16),
          })
          .strict(),
      )
      .max(100_000)
      .default([]),
  })
  .strict();

/** Read, validate and freeze a witness configuration file. */
export function loadWitnessConfig(file: string): WitnessConfig {
  const abs = path.resolve(file);
  if (!existsSync(abs))
    throw new LogsError('CONFIG_NOT_FOUND', `witness configuration ${abs} does not exist`);
  let raw: unknown;
  try {
    raw = parse(readFileSync(abs, 'utf8'), { maxAliasCount: 100 }) ?? {};
  } catch (err) {
    throw new LogsError('CONFIG_INVALID', `${abs}: not valid YAML or JSON`, { cause: err });
  }
  return resolveWitnessConfig(raw, path.dirname(abs), abs);
}

/** Validate a parsed configuration; relative paths are resolved against `base`. */
export function resolveWitnessConfig(raw: unknown, base: string, file?: string): WitnessConfig {
  const where = file ?? 'witness configuration';
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.map(String).join('.');
      return `${key === '' ? '(top level)' : key}: ${i.message}`;
    });
    throw new LogsError('CONFIG_INVALID', `${where}: ${lines.join('; ')}`);
  }
  const c = parsed.data;
  const logs = new Map<string, readonly NoteVerifier[]>();
  c.logs.forEach((log, i) => {
    if (logs.has(log.origin))
      throw new LogsError('CONFIG_INVALID', `${where}: logs.${i}.origin: listed twice`);
    const keys = log.keys.map((text, j) => {
      let v: NoteVerifier;
      try {
        v = parseVerifierKey(text);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new LogsError('CONFIG_INVALID', `${where}: logs.${i}.keys.${j}: ${why}`, {
          cause: err,
        });
      }
      if (v.type !== SIG_ED25519)
        throw new LogsError(
          'CONFIG_INVALID',
          `${where}: logs.${i}.keys.${j}: a log key is an Ed25519 (type 0x01) verifier key`,
        );
      return v;
    });
    const ids = new Set(keys.map((k) => `${k.name}+${keyIdHex(k.keyId)}`));
    if (ids.size !== keys.length)
      throw new LogsError('CONFIG_INVALID', `${where}: logs.${i}.keys: a key is listed twice`);
    logs.set(log.origin, Object.freeze(keys));
  });
  return Object.freeze({
    file,
    name: c.name,
    keyFile: path.resolve(base, c.key_file),
    stateDir: path.resolve(base, c.state_dir),
    host: c.host,
    port: c.port,
    bodyLimit: c.body_limit,
    logs,
  });
}
