import type { Command } from 'commander';
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { parsePublicKey } from '../crypto/sign.js';
import { LogsError } from '../errors.js';
import { isChannelName } from '../event/channels.js';
import { catchUp, withIndex, type IndexProgress } from '../search/index.js';
import { ReceiptBuilder, type BuiltReceipt } from '../query/receipt-builder.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { FILE_MODE, writeAll } from '../util/fs.js';
import { configFor, type Io } from './context.js';
import { Progress } from './progress.js';
import { openKeystoreIfKey } from './query.js';
import { escapeTerminal } from './terminal.js';
import { registerVerifyProof, whole } from './verify-proof.js';

interface ProofOptions {
  readonly channel: string;
  readonly seq: string;
  readonly out?: string;
  readonly withRecord?: boolean;
  readonly progress?: boolean;
}

/**
 * `dihya-logs proof` writes an offline receipt (a c2sp.org/tlog-proof, see docs/receipts.md)
 * that a record is in its channel's signed, witnessed tree; `dihya-logs verify-proof`
 * (verify-proof.ts) checks one with public keys only, without the logs.
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
  registerVerifyProof(program, io);
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
  const witnessKeys = config.integrity.witnesses.map((w) => w.key);
  const quorum = witnessKeys.length === 0 ? 0 : config.integrity.witnessQuorum;
  // The read is read-only: the index catches up (as query does), the log is never written.
  const keystore = openKeystoreIfKey(cmd, layout, meta);
  const channelKeys = keystore?.channelKeyring();
  keystore?.close();
  const receipt: BuiltReceipt = await withIndex(layout, meta.log_id, async (db) => {
    const progress = new Progress(io, 'index', opts.progress !== false);
    try {
      await catchUp(layout, meta.log_id, db, {
        ...(channelKeys === undefined ? {} : { channelKeys }),
        onProgress: (p: IndexProgress) =>
          progress.update(p.bytes, p.totalBytes, `${p.records.toLocaleString('en-US')} records`),
      });
      progress.done();
      const builder = new ReceiptBuilder({
        layout,
        db,
        publicKey: parsePublicKey(meta.public_key),
        witnessKeys,
        quorum,
        ...(channelKeys === undefined ? {} : { channelKeys }),
      });
      return await builder.build(opts.channel, seq, { withRecord: opts.withRecord === true });
    } finally {
      progress.done();
    }
  });
  if (receipt.cosignatures < quorum)
    io.err(
      `warning: no checkpoint covering ${opts.channel} #${seq} has the quorum of ${quorum} cosignatures yet; this one has ${receipt.cosignatures}\n`,
    );
  if (opts.out === undefined) {
    io.out(receipt.text);
    return;
  }
  writeNew(opts.out, receipt.text);
  io.err(
    `receipt of ${opts.channel} #${seq} in the tree of ${receipt.treeSize} records (${receipt.cosignatures} cosignature(s)) written to ${escapeTerminal(opts.out)}\n`,
  );
}

/** Create `file` (0600), refusing one that exists or a link. */
export function writeNew(file: string, text: string): void {
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
