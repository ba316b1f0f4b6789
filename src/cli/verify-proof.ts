import type { Command } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { LogsError } from '../errors.js';
import {
  MAX_RECEIPT_BYTES,
  parseReceipt,
  verifyReceipt,
  type ReceiptCheck,
} from '../integrity/receipt.js';
import { configFor, type Io } from './context.js';
import { escapeTerminal } from './terminal.js';

interface VerifyProofOptions {
  readonly publicKey?: string;
  readonly witnessKey: string[];
  readonly quorum?: string;
}

/**
 * `dihya-logs verify-proof`: check a receipt (docs/receipts.md) with public keys only, without
 * the logs. Registered by registerProof, beside `proof`.
 */
export function registerVerifyProof(program: Command, io: Io): void {
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
export function whole(text: string, flag: string, min: number): number {
  const n = /^(?:0|[1-9]\d{0,15})$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    throw new LogsError('USAGE', `${flag}: expected a whole number from ${min}`);
  return n;
}
