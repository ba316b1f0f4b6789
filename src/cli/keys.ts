import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { MASTER_KEY_ENV } from '../crypto/masterkey.js';
import { LogsError } from '../errors.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { configFor, type Io } from './context.js';
import { openForCli } from './open.js';
import { encryptedChannels, openKeystoreIfKey } from './query.js';

/** `dihya-logs keys list|rotate`: the keys of encrypted channels (never their bytes). */
export function registerKeys(program: Command, io: Io): void {
  const keys = program
    .command('keys')
    .description('the keys of encrypted channels: list them, start new ones');
  keys
    .command('list')
    .description('each encrypted channel, its keys and when each was made (no key material)')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const layout = new LogLayout(configFor(cmd).dir);
      const meta = readMeta(layout);
      const keystore = openKeystoreIfKey(cmd, layout, meta);
      if (keystore === undefined)
        throw new LogsError(
          'MASTER_KEY_MISSING',
          `the channel keys are wrapped by the master key (--key-file or ${MASTER_KEY_ENV})`,
        );
      let dates: Array<{ channel: string; id: number; created: string }>;
      try {
        // Unwrapping them all checks the master key opens every one.
        keystore.channelKeys();
        dates = keystore.channelKeyDates();
      } finally {
        keystore.close();
      }
      const encrypted = encryptedChannels(cmd);
      if (opts.json === true) {
        io.out(`${JSON.stringify({ encrypted, keys: dates }, null, 2)}\n`);
        return;
      }
      if (encrypted.length === 0) io.out('no channel is encrypted (channels.<name>.encrypt)\n');
      for (const c of encrypted) {
        const mine = dates.filter((d) => d.channel === c);
        const current = mine[mine.length - 1];
        io.out(
          current === undefined
            ? `${c}: encrypted; its first key is made when the log is next opened for writing\n`
            : `${c}: ${mine.length} key(s), current #${current.id} since ${current.created}\n`,
        );
      }
      for (const d of dates.filter((x) => !encrypted.includes(x.channel)))
        io.out(
          `${d.channel}: key #${d.id} (${d.created}): channel no longer encrypted; its older records need it\n`,
        );
    });
  keys
    .command('rotate')
    .description(
      'start a new key for encrypted channels: records from now on use it, older ones stay readable under theirs',
    )
    .option('--channel <name...>', 'only these channels (default: every encrypted channel)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { channel?: string[]; json?: boolean }, cmd: Command) => {
      const logs = await openForCli(cmd, 'keys rotate');
      try {
        const rotated = await logs.keys.rotateChannelKeys(
          opts.channel,
          `cli:${userInfo().username}`,
        );
        if (opts.json === true) io.out(`${JSON.stringify(rotated, null, 2)}\n`);
        else if (rotated.length === 0) io.out('no channel is encrypted: nothing to rotate\n');
        else for (const r of rotated) io.out(`${r.channel}: new key #${r.key}\n`);
      } finally {
        await logs.close();
      }
    });
}
