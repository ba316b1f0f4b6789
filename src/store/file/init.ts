import { existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
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
  writeFileDurable(layout.checkpointsFile, '', { exclusive: true, sync: false });
  writeFileDurable(layout.segmentsFile, '', { exclusive: true, sync: false });

  const logId = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = generateSigningKeyPair();
  writeSigningKey(layout, logId, privateKey, publicKey, masterKey);
  const text = publicKeyText(publicKey);
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
