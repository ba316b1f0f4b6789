import type { Command } from 'commander';
import { closeSync, constants, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import type { ChannelKeyring } from '../crypto/body-cipher.js';
import { parsePublicKey } from '../crypto/sign.js';
import { LogsError } from '../errors.js';
import { isChannelName } from '../event/channels.js';
import { IndexDb } from '../index/index-db.js';
import { catchUp, type IndexProgress } from '../index/indexer.js';
import { inclusionProofFromIndex } from '../index/proofs.js';
import { recordId } from '../index/schema.js';
import { parseCheckpoint, type Checkpoint } from '../integrity/checkpoint.js';
import {
  checkpointNote,
  checkpointNoteText,
  checkpointNoteValid,
  logVerifierKey,
} from '../integrity/checkpoint-note.js';
import {
  parseSignatureLine,
  parseVerifierKey,
  verifyCosignature,
  type NoteVerifier,
} from '../integrity/note/index.js';
import {
  MAX_RECEIPT_BYTES,
  makeReceipt,
  parseReceipt,
  verifyReceipt,
  type ReceiptCheck,
} from '../integrity/receipt.js';
import { RecordReader } from '../query/read.js';
import { selectHits } from '../query/search.js';
import { readCosignatures, type Cosignature } from '../store/file/cosignatures.js';
import { LogLayout } from '../store/file/layout.js';
import { scanLines } from '../store/file/lines.js';
import { readMeta } from '../store/file/meta.js';
import { readSegmentBook } from '../store/file/segment-log.js';
import { FILE_MODE, writeAll } from '../util/fs.js';
import { configFor, type Io } from './context.js';
import { Progress } from './progress.js';
import { openKeystoreIfKey } from './query.js';
import { escapeTerminal } from './terminal.js';

interface ProofOptions {
  readonly channel: string;
  readonly seq: string;
  readonly out?: string;
  readonly withRecord?: boolean;
  readonly progress?: boolean;
}

interface VerifyProofOptions {
  readonly publicKey?: string;
  readonly witnessKey: string[];
  readonly quorum?: string;
}

/**
 * `dihya-logs proof` writes an offline receipt (a c2sp.org/tlog-proof, see docs/receipts.md)
 * that a record is in its channel's signed, witnessed tree; `dihya-logs verify-proof` checks one
 * with public keys only, without the logs.
 */
export function registerProof(program: Command, io: Io): void {
  program
    .command('proof')
    .description(
      'write an offline receipt that a record is in its channel: the inclusion proof in a signed (and cosigned) checkpoint',
    )
    .requiredOption('--channel <name>', 'the record’s channel')
    .requiredOption('--seq <n>', 'the record’s seq')
    .option('--out <file>', 'write the receipt to this new file (mode 0600) instead of stdout')
    .option('--with-record', 'include the record’s line as stored (personal values stay sealed)')
    .option('--no-progress', 'no progress lines on stderr while the index catches up')
    .action(async (opts: ProofOptions, cmd: Command) => {
      await proofCommand(opts, cmd, io);
    });
  program
    .command('verify-proof')
    .description('check a receipt with public keys only: the logs are not needed')
    .argument('<file>', 'the receipt (dihya-logs proof --out)')
    .option(
      '--public-key <key>',
      'the log’s key: ed25519:<base64>, or its verifier key <origin>+<id>+<base64> (default: integrity.public_key)',
    )
    .option(
      '--witness-key <vkey>',
      'a trusted witness’s verifier key, repeatable (default: integrity.witnesses)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--quorum <n>', 'distinct trusted witnesses that must have cosigned')
    .addHelpText('after', '\nExit status: 0 valid, 1 invalid, 2 usage or configuration error.')
    .action((file: string, opts: VerifyProofOptions, cmd: Command) => {
      verifyProofCommand(file, opts, cmd, io);
    });
}

async function proofCommand(opts: ProofOptions, cmd: Command, io: Io): Promise<void> {
  if (!isChannelName(opts.channel)) throw new LogsError('USAGE', '--channel: not a channel name');
  const seq = whole(opts.seq, '--seq', 1);
  if (opts.out !== undefined && existsSync(opts.out))
    throw new LogsError('USAGE', `${opts.out} exists: it is not replaced`);
  const config = configFor(cmd);
  const layout = new LogLayout(config.dir);
  const meta = readMeta(layout);
  const pinned = config.integrity.publicKey;
  if (pinned !== undefined && pinned.trim() !== meta.public_key)
    throw new LogsError(
      'INTEGRITY_STATE',
      'the log’s public key is not the pinned one: run verify',
    );
  const publicKey = parsePublicKey(meta.public_key);
  const witnesses = config.integrity.witnesses.map((w) => parseVerifierKey(w.key));
  const quorum = witnesses.length === 0 ? 0 : config.integrity.witnessQuorum;
  // The read is read-only: the index catches up (as query does), the log is never written.
  const keystore = openKeystoreIfKey(cmd, layout, meta);
  const channelKeys = keystore?.channelKeyring();
  keystore?.close();
  const db = IndexDb.open(layout, meta.log_id);
  const progress = new Progress(io, 'index', opts.progress !== false);
  let receipt: string;
  let chosen: Candidate;
  try {
    await catchUp(layout, meta.log_id, db, {
      ...(channelKeys === undefined ? {} : { channelKeys }),
      onProgress: (p: IndexProgress) =>
        progress.update(p.bytes, p.totalBytes, `${p.records.toLocaleString('en-US')} records`),
    });
    progress.done();
    const state = db.state(opts.channel);
    if (state === undefined)
      throw new LogsError('USAGE', `the log has no channel ${JSON.stringify(opts.channel)}`);
    if (seq > state.indexedSeq)
      throw new LogsError(
        'USAGE',
        `${opts.channel} has ${state.indexedSeq} indexed record(s): seq ${seq} is past them (an encrypted channel is indexed only with the master key)`,
      );
    chosen = chooseCheckpoint(
      candidates(layout, meta.log_id, opts.channel, seq, state.indexedSeq, witnesses),
      quorum,
      opts.channel,
      seq,
    );
    const cp = chosen.checkpoint;
    if (!checkpointNoteValid(cp, publicKey))
      throw new LogsError(
        'INTEGRITY_STATE',
        `the note of the checkpoint of ${opts.channel} at ${cp.size} is not signed by the log's key: run verify`,
      );
    const proof = inclusionProofFromIndex(db, opts.channel, seq, cp.size);
    const line =
      opts.withRecord === true
        ? await storedLine(layout, db, state.channelNo, opts.channel, seq, channelKeys)
        : undefined;
    const origin = cp.origin as string;
    receipt = makeReceipt({
      proof,
      note: checkpointNote(cp) as string,
      cosignatures: chosen.lines,
      logVkey: logVerifierKey(origin, publicKey),
      ...(line === undefined ? {} : { line }),
    });
    // Never hand out a receipt that does not verify: the index or a file contradicts the log.
    const check = verifyReceipt(receipt, {
      logKey: publicKey,
      origin,
      witnessKeys: config.integrity.witnesses.map((w) => w.key),
      quorum: 0,
    });
    if (!check.ok)
      throw new LogsError('INTEGRITY_STATE', `the receipt does not verify (${check.reason ?? ''})`);
  } finally {
    progress.done();
    db.close();
  }
  const cp = chosen.checkpoint;
  if (chosen.count < quorum)
    io.err(
      `warning: no checkpoint covering ${opts.channel} #${seq} has the quorum of ${quorum} cosignatures yet; this one has ${chosen.count}\n`,
    );
  if (opts.out === undefined) {
    io.out(receipt);
    return;
  }
  writeNew(opts.out, receipt);
  io.err(
    `receipt of ${opts.channel} #${seq} in the tree of ${cp.size} records (${chosen.count} cosignature(s)) written to ${escapeTerminal(opts.out)}\n`,
  );
}

/** A signed checkpoint that can anchor the receipt, with the cosignature lines it would carry. */
interface Candidate {
  readonly checkpoint: Checkpoint;
  /** Its place in the checkpoint log: later is newer. */
  readonly order: number;
  readonly lines: string[];
  /** Distinct witnesses among `lines`. */
  readonly count: number;
}

/**
 * The checkpoints of the channel with a note whose tree holds `seq` and is indexed: those with
 * stored cosignatures, and the newest. With witnesses configured only their valid cosignatures
 * are kept; without, every line stored. Cheap per checkpoint (a channel may have millions): only
 * cosignatures are verified here, the chosen checkpoint's own note afterwards.
 */
function candidates(
  layout: LogLayout,
  logId: string,
  channel: string,
  seq: number,
  indexed: number,
  witnesses: readonly NoteVerifier[],
): Candidate[] {
  const stored = new Map<string, Cosignature[]>();
  for (const c of readCosignatures(layout)) {
    const key = `${c.origin}\n${c.size}\n${c.root}`;
    stored.set(key, [...(stored.get(key) ?? []), c]);
  }
  const needle = Buffer.from(`"channel":${JSON.stringify(channel)}`);
  const out: Candidate[] = [];
  let newest: Candidate | undefined;
  let order = 0;
  scanLines(layout.checkpointsFile, ({ bytes }) => {
    order += 1;
    if (!bytes.includes(needle)) return;
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(bytes.toString('utf8'));
    } catch {
      return; // verify's business
    }
    if (cp.log_id !== logId || cp.channel !== channel || cp.origin === undefined) return;
    if (cp.size < seq || cp.size > indexed) return;
    const cosigned = stored.get(`${cp.origin}\n${cp.size}\n${cp.root}`);
    if (cosigned === undefined) {
      newest = { checkpoint: cp, order, lines: [], count: 0 };
      return;
    }
    const text = checkpointNoteText(cp.origin, cp.size, cp.root);
    const lines = new Map<string, string>();
    for (const c of cosigned) {
      const name = cosignerOf(c.line, text, witnesses);
      if (name !== undefined && !lines.has(name)) lines.set(name, c.line);
    }
    out.push({ checkpoint: cp, order, lines: [...lines.values()], count: lines.size });
  });
  if (newest !== undefined) out.push(newest);
  return out;
}

/** The witness a stored line is from, when it counts: valid for a configured key, or any without. */
function cosignerOf(
  line: string,
  text: string,
  witnesses: readonly NoteVerifier[],
): string | undefined {
  try {
    const sig = parseSignatureLine(line);
    if (witnesses.length === 0) return sig.name;
    const v = witnesses.find((w) => w.name === sig.name && w.keyId === sig.keyId);
    if (v === undefined) return undefined;
    verifyCosignature(v, text, line);
    return v.name;
  } catch {
    return undefined;
  }
}

/** Prefer checkpoints meeting the quorum, then the most cosignatures, then the newest. */
function chooseCheckpoint(
  all: readonly Candidate[],
  quorum: number,
  channel: string,
  seq: number,
): Candidate {
  const meeting = all.filter((c) => c.count >= quorum);
  const pool = meeting.length > 0 ? meeting : all;
  const best = pool.reduce<Candidate | undefined>((a, c) => {
    if (a === undefined) return c;
    if (meeting.length > 0 && c.count !== a.count) return c.count > a.count ? c : a;
    return c.order > a.order ? c : a;
  }, undefined);
  if (best === undefined)
    throw new LogsError(
      'USAGE',
      `no signed checkpoint note of ${channel} covers seq ${seq} yet (one is signed within a second of writing; checkpoints older than notes have none)`,
    );
  return best;
}

/** The record's line as stored, read back from its segment. */
async function storedLine(
  layout: LogLayout,
  db: IndexDb,
  channelNo: number,
  channel: string,
  seq: number,
  channelKeys: ChannelKeyring | undefined,
): Promise<string> {
  const hits = selectHits(db, ['r.id = ?'], [recordId(channelNo, seq)], 'asc', 1);
  const reader = new RecordReader(layout, db.logId, readSegmentBook(layout, db.logId), channelKeys);
  const [read] = hits.length === 0 ? [] : await reader.read(hits);
  if (read?.line === undefined)
    throw new LogsError(
      'PROOF_UNAVAILABLE',
      `${channel} #${seq} is no longer stored (deleted by retention or erasure): make the receipt without --with-record`,
    );
  return read.line;
}

function verifyProofCommand(file: string, opts: VerifyProofOptions, cmd: Command, io: Io): void {
  const config = configFor(cmd);
  const logKey = opts.publicKey ?? config.integrity.publicKey;
  if (logKey === undefined)
    throw new LogsError(
      'USAGE',
      'no log key: give --public-key (ed25519:<base64>, or the log’s verifier key), or run where the configuration pins integrity.public_key',
    );
  const fromConfig = opts.witnessKey.length === 0;
  const witnessKeys = fromConfig ? config.integrity.witnesses.map((w) => w.key) : opts.witnessKey;
  const quorum =
    opts.quorum !== undefined
      ? whole(opts.quorum, '--quorum', 0)
      : fromConfig && witnessKeys.length > 0
        ? config.integrity.witnessQuorum
        : undefined;
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new LogsError('USAGE', `cannot read ${file}`);
  }
  let check: ReceiptCheck;
  if (size > MAX_RECEIPT_BYTES) {
    check = {
      ok: false,
      reason: `not a receipt: it is over ${MAX_RECEIPT_BYTES} bytes`,
      cosignedBy: [],
    };
  } else {
    const bytes = readFileSync(file);
    // A configured log name pins the origin: <log name>/<channel>.
    const logName = opts.publicKey === undefined ? config.integrity.logName : undefined;
    let origin: string | undefined;
    try {
      origin = logName === undefined ? undefined : `${logName}/${parseReceipt(bytes).channel}`;
    } catch {
      origin = undefined; // verifyReceipt names what is wrong with it
    }
    check = verifyReceipt(bytes, {
      logKey,
      ...(origin === undefined ? {} : { origin }),
      witnessKeys,
      ...(quorum === undefined ? {} : { quorum }),
    });
  }
  io.out(formatCheck(check, witnessKeys.length));
  process.exitCode = check.ok ? 0 : 1;
}

/** The verdict for a person: OK and what was checked, or INVALID and why. */
export function formatCheck(check: ReceiptCheck, witnessKeys: number): string {
  const c = check.checked;
  if (!check.ok || c === undefined) return `INVALID: ${escapeTerminal(check.reason ?? '?')}\n`;
  const lines = [
    `OK: ${c.channel} #${c.seq} is in the tree of ${c.treeSize} records of ${c.origin}`,
    `  checkpoint: signed by the log key (origin ${c.origin}, root ${c.root})`,
    `  audit path: ${c.pathLength} hash(es) from leaf ${c.leafHash} to the signed root`,
    c.line
      ? '  record: its stored line gives the leaf'
      : '  record: no line in the receipt; it proves the leaf hash only',
    witnessKeys === 0
      ? '  witnesses: none trusted, cosignatures not checked'
      : `  witnesses: cosigned by ${check.cosignedBy.join(', ') || 'none'} (${check.cosignedBy.length} of ${witnessKeys} trusted key(s), quorum ${c.quorum})`,
  ];
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}

/** A whole number from `min`, in its one decimal spelling. */
function whole(text: string, flag: string, min: number): number {
  const n = /^(?:0|[1-9]\d{0,15})$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new LogsError('USAGE', `${flag}: expected a whole number from ${min}`);
  return n;
}

/** Create `file` (0600), refusing one that exists or a link. */
function writeNew(file: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(
      file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      FILE_MODE,
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new LogsError('USAGE', `${file} exists: it is not replaced`);
    throw err;
  }
  try {
    writeAll(fd, text);
  } finally {
    closeSync(fd);
  }
}
