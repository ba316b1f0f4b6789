import { createHash } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { keyId, parsePublicKey, signBytes, verifyBytes } from '../crypto/sign.js';
import { canonicalize } from '../event/canonical.js';
import { LogsError } from '../errors.js';
import { COLUMNS, cell, csvCell } from '../query/format.js';
import type { QueryRecord } from '../query/query.js';
import type { LogLayout, readSigningKey } from '../store/file/index.js';
import { ensureDir, FILE_MODE, writeAll, writeFileDurable } from '../util/fs.js';
import { RECEIPTS_DIR } from './receipts.js';

/**
 * The files of an export bundle: its directory, records.json (and records.csv), and the signed
 * manifest that lists every file with its SHA-256, and its check.
 */

export type ExportFormat = 'json' | 'csv';

/** Domain of the manifest signature: a signature over a manifest is never valid elsewhere. */
export const MANIFEST_DOMAIN = 'dihya-logs/export-manifest/v1\n';

/** `export/<request-id>/`, 0700, created new (never an existing directory). */
export function createBundleDir(
  layout: LogLayout,
  requestId: string,
): { dir: string; write: (name: string, text: string) => void } {
  ensureDir(layout.exportDir);
  const root = realpathSync(layout.exportDir);
  if (!root.startsWith(realpathSync(layout.dir) + path.sep))
    throw new LogsError('IO_ERROR', `${layout.exportDir} leads outside the logs directory`);
  const dir = path.join(root, requestId);
  ensureDir(dir);
  return {
    dir,
    write: (name, text) => writeFileDurable(path.join(dir, name), text, { exclusive: true }),
  };
}

/** records.json (a JSON array, one record per line) and, for csv, records.csv; written as read. */
export class BundleWriter {
  readonly files: string[];
  private readonly json: number;
  private readonly csv: number | undefined;
  private count = 0;

  constructor(dir: string, format: ExportFormat) {
    const open = (name: string): number =>
      openSync(
        path.join(dir, name),
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        FILE_MODE,
      );
    this.json = open('records.json');
    writeAll(this.json, '[');
    this.files = ['records.json'];
    if (format === 'csv') {
      this.csv = open('records.csv');
      writeAll(this.csv, `${COLUMNS.map(csvCell).join(',')}\r\n`);
      this.files.push('records.csv');
    }
  }

  add(r: QueryRecord): void {
    writeAll(this.json, `${this.count === 0 ? '\n' : ',\n'}${JSON.stringify(r.record)}`);
    if (this.csv !== undefined)
      writeAll(this.csv, `${COLUMNS.map((c) => csvCell(cell(r, c))).join(',')}\r\n`);
    this.count += 1;
  }

  close(): void {
    writeAll(this.json, this.count === 0 ? ']\n' : '\n]\n');
    for (const fd of [this.json, this.csv]) {
      if (fd === undefined) continue;
      fsyncSync(fd);
      closeSync(fd);
    }
  }
}

export interface ExportManifest {
  readonly v: 1;
  readonly request_id: string;
  readonly log_id: string;
  readonly created: string;
  readonly files: ReadonlyArray<{ name: string; bytes: number; sha256: string }>;
  readonly public_key: string;
  readonly kid: string;
  readonly sig: string;
}

export function signedManifest(
  dir: string,
  files: readonly string[],
  requestId: string,
  logId: string,
  publicKey: string,
  privateKey: ReturnType<typeof readSigningKey>,
): ExportManifest {
  const body = {
    v: 1 as const,
    request_id: requestId,
    log_id: logId,
    created: new Date().toISOString(),
    files: files.map((name) => {
      const bytes = readFileSync(path.join(dir, name));
      return {
        name,
        bytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      };
    }),
    public_key: publicKey,
    kid: keyId(publicKey),
  };
  return { ...body, sig: signBytes(privateKey, MANIFEST_DOMAIN + canonicalize(body)) };
}

/** What checking a bundle found: nothing when it is intact. */
export interface BundleCheck {
  readonly ok: boolean;
  readonly problems: string[];
}

/**
 * Check an export bundle: the manifest's signature (with the log's public key, given by the
 * caller, not read from the bundle), and every file's size and SHA-256.
 */
export function verifyBundle(dir: string, publicKey: string): BundleCheck {
  const problems: string[] = [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return { ok: false, problems: ['manifest.json is missing or not JSON'] };
  }
  // Parse defensively: the bundle has travelled, anyone may have edited it.
  const manifest = parsed as ExportManifest | null;
  if (typeof manifest !== 'object' || manifest === null || !Array.isArray(manifest.files))
    return { ok: false, problems: ['manifest.json is not a manifest'] };
  const { sig, ...body } = manifest;
  let signed: boolean;
  try {
    signed =
      typeof sig === 'string' &&
      verifyBytes(parsePublicKey(publicKey), MANIFEST_DOMAIN + canonicalize(body), sig);
  } catch {
    signed = false;
  }
  if (manifest.public_key !== publicKey.trim())
    problems.push('the manifest names another public key');
  else if (!signed) problems.push('the manifest signature does not verify');
  for (const f of manifest.files as unknown[]) {
    const entry = f as Partial<Record<'name' | 'bytes' | 'sha256', unknown>> | null;
    if (typeof entry !== 'object' || entry === null || !isBundleFileName(entry.name)) {
      problems.push(`${JSON.stringify(entry?.name ?? null)}: not a file name of the bundle`);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(path.join(dir, entry.name));
    } catch {
      problems.push(`${entry.name}: missing`);
      continue;
    }
    if (
      bytes.length !== entry.bytes ||
      createHash('sha256').update(bytes).digest('hex') !== entry.sha256
    )
      problems.push(`${entry.name}: changed since the export`);
  }
  return { ok: problems.length === 0, problems };
}

const FILE_NAME = /^\w[\w.-]*$/;

/** A name a bundle's manifest may list: a file at its top, or one in receipts/. */
export function isBundleFileName(name: unknown): name is string {
  if (typeof name !== 'string' || name.length > 255) return false;
  const parts = name.split('/');
  if (parts.length === 2 && parts[0] !== RECEIPTS_DIR) return false;
  return parts.length <= 2 && FILE_NAME.test(parts.at(-1) ?? '');
}
