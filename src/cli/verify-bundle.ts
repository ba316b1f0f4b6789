import {
  closeSync,
  constants,
  createReadStream,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import tar from 'tar-stream';
import { parsePublicKey } from '../crypto/sign.js';
import { isLogsError, LogsError } from '../errors.js';
import { verifyBundle, type BundleCheck } from '../gdpr/export.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { ensureDir, FILE_MODE, writeAll } from '../util/fs.js';
import { configFor, type Io } from './context.js';
import { escapeTerminal } from './terminal.js';

/** What an archive may unpack to, in all: beyond it, it is refused unread. */
export const MAX_BUNDLE_BYTES = 2 * 1024 ** 3;
/** Files an archive may hold (one receipt per record, and a few more). */
export const MAX_BUNDLE_ENTRIES = 1_000_000;
// `<request-id>/file` or `<request-id>/receipts/file`; a flat archive has one part less.
const MAX_DEPTH = 3;
const PART = /^\w[\w.-]{0,254}$/;

interface VerifyBundleOptions {
  readonly publicKey?: string;
  readonly json?: boolean;
}

/** The key a bundle is checked with, and where it came from (said in the output). */
interface KeyChoice {
  readonly key: string;
  readonly source: string;
}

/** `dihya-logs verify-bundle`: check an export bundle, a directory or its downloaded tar. */
export function registerVerifyBundle(program: Command, io: Io): void {
  program
    .command('verify-bundle')
    .description(
      'check an export bundle (its directory, or the tar a download gives): the signed manifest and every file',
    )
    .argument('<bundle>', 'the bundle directory (export/<request-id>/), or its .tar')
    .option(
      '--public-key <key>',
      'the log’s key, ed25519:<base64> (default: integrity.public_key, else the logs directory’s)',
    )
    .option('--json', 'print the check as JSON')
    .addHelpText('after', '\nExit status: 0 valid, 1 invalid, 2 usage or configuration error.')
    .action(async (bundle: string, opts: VerifyBundleOptions, cmd: Command) => {
      const choice = keyFor(opts, cmd);
      let stat;
      try {
        stat = statSync(bundle);
      } catch {
        throw new LogsError('USAGE', `cannot read ${bundle}`);
      }
      const { check, manifest } = stat.isDirectory()
        ? checkDir(bundle, choice.key)
        : await checkArchive(bundle, choice.key);
      io.out(
        opts.json === true
          ? `${JSON.stringify({ bundle, ...check, ...manifest, publicKey: choice.key, keySource: choice.source }, null, 2)}\n`
          : checkText(check, manifest, choice),
      );
      process.exitCode = check.ok ? 0 : 1;
    });
}

/** As `verify` picks it: --public-key, else the pinned key, else the logs directory's own. */
function keyFor(opts: VerifyBundleOptions, cmd: Command): KeyChoice {
  let choice: KeyChoice;
  if (opts.publicKey !== undefined) choice = { key: opts.publicKey, source: '--public-key' };
  else {
    const config = configFor(cmd);
    if (config.integrity.publicKey !== undefined)
      choice = { key: config.integrity.publicKey, source: 'integrity.public_key' };
    else {
      try {
        const meta = readMeta(new LogLayout(config.dir));
        choice = { key: meta.public_key, source: `the logs directory ${config.dir}` };
      } catch (err) {
        if (!isLogsError(err) || err.code !== 'LOGS_NOT_INITIALIZED') throw err;
        throw new LogsError(
          'USAGE',
          `no public key: give --public-key ed25519:<base64>, or run where the configuration or the logs directory (${config.dir}) has it`,
          { cause: err },
        );
      }
    }
  }
  parsePublicKey(choice.key); // PUBLIC_KEY_INVALID (exit 2) before anything is read
  return { key: choice.key.trim(), source: choice.source };
}

interface Checked {
  readonly check: BundleCheck;
  /** What the manifest says, once its signature and every file hold. */
  readonly manifest?: ManifestFacts;
}

function checkDir(dir: string, key: string): Checked {
  const check = verifyBundle(dir, key);
  return check.ok ? { check, manifest: manifestOf(dir) } : { check };
}

/** Unpack a tar into a fresh temporary directory, check the bundle in it, remove it. */
async function checkArchive(file: string, key: string): Promise<Checked> {
  const root = mkdtempSync(path.join(tmpdir(), 'dihya-bundle-'));
  try {
    const refused = await unpack(file, root);
    if (refused !== undefined)
      return { check: { ok: false, problems: [`the archive: ${refused}`] } };
    const dir = bundleDir(root);
    return dir === undefined
      ? { check: { ok: false, problems: ['the archive holds no manifest.json'] } }
      : checkDir(dir, key);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Write the archive's regular files under `root`. The archive is hostile: a name that is
 * absolute, holds `..` or anything but plain parts, a link or a device, a file named twice, or
 * more than MAX_BUNDLE_BYTES in all is refused (the reason is returned), and nothing is written
 * outside `root`.
 */
async function unpack(file: string, root: string): Promise<string | undefined> {
  const extract = tar.extract();
  const input = createReadStream(file);
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  let total = 0;
  let entries = 0;
  const tooLarge = `over ${MAX_BUNDLE_ENTRIES} files or ${MAX_BUNDLE_BYTES} bytes in all`;
  try {
    for await (const entry of extract) {
      const { name, type, size } = entry.header;
      const parts = name.replace(/\/$/, '').split('/');
      if (parts.length > MAX_DEPTH || !parts.every((p) => PART.test(p)))
        return `${JSON.stringify(name)} is not a plain name inside the bundle`;
      if (type === 'directory') {
        entry.resume();
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file')
        return `${JSON.stringify(name)} is a ${type}, not a file`;
      entries += 1;
      // Refused on its header when it can be; the bytes are counted as they come all the same.
      if (entries > MAX_BUNDLE_ENTRIES || total + size > MAX_BUNDLE_BYTES) return tooLarge;
      let fd: number;
      try {
        ensureDir(path.join(root, ...parts.slice(0, -1)));
        fd = openSync(
          path.join(root, ...parts),
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          FILE_MODE,
        );
      } catch {
        return `${JSON.stringify(name)} is in it twice (or also a directory)`;
      }
      try {
        for await (const chunk of entry) {
          total += (chunk as Buffer).length;
          if (total > MAX_BUNDLE_BYTES) return tooLarge;
          writeAll(fd, chunk as Buffer);
        }
      } finally {
        closeSync(fd);
      }
    }
  } catch (err) {
    return `not a readable tar archive (${err instanceof Error ? err.message : String(err)})`;
  } finally {
    input.destroy();
  }
  return undefined;
}

/** The bundle in an unpacked archive: its top, or the one directory there (`<request-id>/`). */
function bundleDir(root: string): string | undefined {
  const has = (dir: string): boolean => {
    try {
      return statSync(path.join(dir, 'manifest.json')).isFile();
    } catch {
      return false;
    }
  };
  if (has(root)) return root;
  const top = readdirSync(root, { withFileTypes: true });
  const only = top.length === 1 && top[0]?.isDirectory() === true ? top[0].name : undefined;
  return only !== undefined && has(path.join(root, only)) ? path.join(root, only) : undefined;
}

interface ManifestFacts {
  readonly requestId: string;
  readonly logId: string;
  readonly created: string;
  readonly files: number;
}

/** What a verified manifest says about the export. */
function manifestOf(dir: string): ManifestFacts {
  const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return {
    requestId: String(m.request_id),
    logId: String(m.log_id),
    created: String(m.created),
    files: Array.isArray(m.files) ? m.files.length : 0,
  };
}

/** `VALID` and what was checked, or an `INVALID: <problem>` line per problem; the key used. */
function checkText(check: BundleCheck, m: ManifestFacts | undefined, choice: KeyChoice): string {
  const lines =
    check.ok && m !== undefined
      ? [
          `VALID: export ${m.requestId} of log ${m.logId} (made ${m.created}): the manifest is signed and its ${m.files} file(s) are unchanged`,
        ]
      : check.problems.map((p) => `INVALID: ${p}`);
  lines.push(`  key: ${choice.key} (from ${choice.source})`);
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}
