import { code, codes, link, list, paragraph, section, t, table, text, type Inline } from './doc.js';
import type { Section } from './doc.js';
import { docLink, type PolicyContext } from './context.js';
import { bytes } from '../util/units.js';

const FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['seq', 'position in the channel, from 1, continuous across restarts and rotations'],
  ['ts', 'UTC time of sequencing, ISO 8601 with milliseconds'],
  ['ts_skew_ms', 'only when the wall clock went back: by how many ms'],
  ['level', 'one of the seven levels'],
  ['channel', 'the channel'],
  ['event', 'the dotted event type'],
  ['msg', 'free text (classified)'],
  ['actor', 'who acted; a person is stored as a pseudonym'],
  ['target', 'what was acted on'],
  ['outcome', 'success, failure, denied, error, pending or unknown'],
  ['request_id', 'the request it belongs to'],
  ['data', 'any other fields (classified)'],
  ['sub', 'pseudonym of the person the record is about'],
  ['pii', 'that person’s personal values, encrypted under their key'],
  ['hash', 'the chain hash'],
];

/** The record format. */
export function formatSection(ctx: PolicyContext): Section {
  const { limits } = ctx.config;
  return section('Log format', [
    paragraph(
      t`One JSON object per line (NDJSON), UTF-8, in RFC 8785 canonical form (keys sorted, no white space), its chain hash last. JSON escaping keeps control characters out of the raw line. A record is at most ${bytes(limits.maxRecordBytes)} (${code('limits.max_record_bytes')}) and nests at most ${limits.maxDepth} levels (${code('limits.max_depth')}): a larger or deeper one is refused, never cut. Details: ${docLink(ctx, 'format.md', 'format.md')}.`,
    ),
    table(
      ['field', 'meaning'],
      FIELDS.map(([f, m]) => [t`${code(f)}`, text(m)]),
    ),
    paragraph(
      t`In an encrypted channel only ${codes(['seq', 'ts', 'level', 'channel', 'hash'])} stay readable; the rest of the record is ${code('body')}, AES-256-GCM ciphertext under the channel's key. Archives are the same lines, gzip-compressed.`,
    ),
  ]);
}

/** Where the files are, and who can open them. */
export function storageSection(ctx: PolicyContext): Section {
  const names = Object.keys(ctx.config.channels);
  const row = (path: Inline, what: Inline): Inline[] => [path, what];
  return section('Where logs are stored', [
    paragraph(
      t`In the logs directory (${ctx.dir === null ? 'this directory' : code(ctx.dir)}), on the machine that runs the writer. Directories are created 0700 and files 0600, whatever the umask: only the account that runs dihya-logs (and the system's administrators) can open them. The master key, which unwraps every other key, is never stored there: it comes from ${code('DIHYA_LOGS_MASTER_KEY')} or a key file kept apart from the logs and their backups (${docLink(ctx, 'keys.md', 'keys.md')}).`,
    ),
    table(
      ['path', 'what'],
      [
        row(codes(names.map((n) => `${n}.log`)), t`the active file of each channel`),
        row(
          t`${code('archive/YYYY/MM/<channel>-<first>-<last>.log.gz')}`,
          t`sealed, compressed segments, each signed into the segment log`,
        ),
        row(t`${code('archive/.staging/')}`, t`rotated segments waiting to be sealed`),
        row(
          t`${code('export/<request-id>/')}`,
          t`GDPR export bundles (decrypted: the person's data)`,
        ),
        row(
          t`${code('.integrity/')}`,
          t`log id, public key, signed checkpoints, the signed segment log (seals, tombstones, legal holds), Merkle state, quarantined bytes`,
        ),
        row(
          t`${code('.keys/')}`,
          t`the signing key and the per-person data keys, wrapped by the master key; service tokens (hashed)`,
        ),
        row(
          t`${code('.index/')}`,
          t`the query index (SQLite), rebuilt from the files when deleted`,
        ),
        row(t`${code('.lock')}`, t`the process that owns the directory`),
        row(t`${code('README.md')}`, t`this policy, rewritten when the configuration changes it`),
      ],
    ),
    paragraph(
      t`The files are the source of truth: the index, the Merkle state and this README can be rebuilt from them. Layout: ${docLink(ctx, 'format.md', 'format.md#the-logs-directory')}.`,
    ),
  ]);
}

/** How the logs are used, and by whom. */
export function usageSection(ctx: PolicyContext): Section {
  return section('How the logs are used', [
    list([
      t`**Investigation and audit**: ${code('dihya-logs query')} and ${code('tail')}, or the service's ${code('/v1/events')} and ${code('/v1/tail')} and the admin page, filter by channel, level, event type, actor, person, request id, time and text (${docLink(ctx, 'query.md', 'query.md')}). Every read through the service is itself recorded (${code('log.read')}).`,
      t`**Security monitoring**: the detectors raise ${code('alert.*')} events and notify (see ${link('Detectors and alerts', '#detectors-and-alerts')}); ${code('/v1/stats')} and ${code('/metrics')} feed dashboards.`,
      t`**Proof**: ${code('dihya-logs verify')} and Merkle proofs show that nothing was changed, removed or reordered (${link('Integrity', '#integrity')}).`,
      t`**GDPR**: the records of a person are exported or erased on request; the request register is read from the ${code('audit')} channel (${link('GDPR requests', '#gdpr-requests')}).`,
      t`**Operations**: the application's own diagnostics (${code('app')}, ${code('api')}) and the runs of scripts and jobs (${code('scheduler')}).`,
    ]),
    paragraph(
      t`Personal data stays encrypted under each person's key wherever the records go (archives, backups, copies); only the roles that may see it get it decrypted (${link('Who can read what', '#who-can-read-what')}).`,
    ),
  ]);
}
