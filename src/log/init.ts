import { DEFAULT_CHANNELS } from '../event/channels.js';
import { parseMasterKey } from '../crypto/masterkey.js';
import { initLogDirectory } from '../store/file/index.js';

export interface InitLogsOptions {
  readonly dir: string;
  /** The master key: 32 bytes or their base64. It wraps the new signing key. */
  readonly masterKey: Uint8Array | string;
  /** Channels to create; the five defaults when absent. */
  readonly channels?: readonly string[];
}

/**
 * Create a logs directory (layout, log id, Ed25519 key pair wrapped by the master key).
 * Returns the log id and the public key to pin in the configuration.
 */
export function initLogs(options: InitLogsOptions): {
  logId: string;
  publicKey: string;
  dir: string;
} {
  const key =
    typeof options.masterKey === 'string'
      ? parseMasterKey(options.masterKey, 'the masterKey option')
      : Buffer.from(options.masterKey);
  const channels = options.channels ?? DEFAULT_CHANNELS;
  const { layout, meta } = initLogDirectory(options.dir, key, channels);
  return { logId: meta.log_id, publicKey: meta.public_key, dir: layout.dir };
}
