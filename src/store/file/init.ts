import { Keystore } from '../../crypto/keystore.js';
import { existsSync, readdirSync } from 'node:fs';
import { randomBytes, type KeyObject } from 'node:crypto';
import {
  checkpointGenesis,
  checkpointLinkHash,
  encodeCheckpoint,
  signCheckpoint,
} from '../../integrity/checkpoint.js';
import { chainGenesis } from '../../integrity/chain.js';
import { CompactRange } from '../../integrity/merkle.js';
import { LogsError } from '../../errors.js';
import { generateSigningKeyPair, keyId, publicKeyText } from '../../crypto/sign.js';
import { assertChannelName } from '../../event/channels.js';
import { ensureDir, fsyncDir, writeFileDurable } from '../../util/fs.js';
import { LogLayout } from './layout.js';
import { FORMAT, writeMeta, writeSigningKey, type LogMeta } from './meta.js';

export interface InitResult {
  readonly layout: LogLayout;
  readonly meta: LogMeta;
}

/**
 * Create a logs directory: the layout of DESIGN.md (directories 0700, files 0600), a random
 * log id, and an Ed25519 key pair whose private half is stored wrapped by the master key.
 * `log.json` is written last: a directory without it was never completely initialized.
 */
export function initLogDirectory(
  dir: string,
  masterKey: Buffer,
  channels: readonly string[],
  now = new Date(),
): InitResult {
  const layout = new LogLayout(dir);
  if (existsSync(layout.metaFile)) {
    throw new LogsError(
      'LOGS_ALREADY_INITIALIZED',
      `${layout.dir} is already a logs directory; nothing was changed`,
    );
  }
  if (existsSync(layout.dir) && readdirSync(layout.dir).length > 0) {
    throw new LogsError(
      'PATH_UNSAFE',
      `${layout.dir} exists, is not empty and is not a logs directory; choose another --dir or empty it`,
    );
  }
  for (const channel of channels) assertChannelName(channel);
  for (const d of layout.directories) ensureDir(d);

  for (const channel of channels)
    writeFileDurable(layout.channelFile(channel), '', { exclusive: true, sync: false });
  writeFileDurable(layout.segmentsFile, '', { exclusive: true, sync: false });

  const logId = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = generateSigningKeyPair();
  writeSigningKey(layout, logId, privateKey, publicKey, masterKey);
  // The subject keystore exists from the start: a reader (query, tail, export) of a log nobody
  // has written to yet finds an empty one, not a missing file.
  Keystore.open(layout.subjectsFile, masterKey, logId).close();
  const text = publicKeyText(publicKey);
  writeFileDurable(
    layout.checkpointsFile,
    genesisCheckpoints(logId, keyId(text), channels, privateKey, now),
    { exclusive: true },
  );
  writeFileDurable(layout.publicKeyFile, `${text}\n`, { exclusive: true });
  const meta: LogMeta = {
    format: FORMAT,
    log_id: logId,
    created: now.toISOString(),
    public_key: text,
    kid: keyId(text),
    channels: [...channels],
  };
  for (const d of layout.directories) fsyncDir(d);
  writeMeta(layout, meta, { exclusive: true });
  return { layout, meta };
}

/**
 * The first lines of the checkpoint log: every channel signed empty. A log never has an empty
 * checkpoint log after init, so one found empty was emptied.
 */
function genesisCheckpoints(
  logId: string,
  kid: string,
  channels: readonly string[],
  privateKey: KeyObject,
  now: Date,
): string {
  let prev = checkpointGenesis(logId);
  let text = '';
  for (const channel of channels) {
    const cp = signCheckpoint(
      {
        v: 1,
        log_id: logId,
        channel,
        size: 0,
        head: chainGenesis(logId, channel),
        root: new CompactRange().root(),
        ts: now.toISOString(),
        prev,
        kid,
      },
      privateKey,
    );
    const line = encodeCheckpoint(cp);
    prev = checkpointLinkHash(line);
    text += `${line}\n`;
  }
  return text;
}
