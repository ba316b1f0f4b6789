import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import {
  KEY_FILE_ENV,
  MASTER_KEY_ENV,
  loadMasterKey,
  masterKeySource,
} from '../crypto/masterkey.js';
import { asLogsError } from '../errors.js';
import { readSigningKey } from '../store/file/index.js';
import {
  shellArg,
  type Check,
  type CheckResult,
  type DoctorContext,
  type Finding,
} from './types.js';

/**
 * The master key wraps every other key: it must come from the environment or from a key file
 * kept outside the logs directory (compared after resolving links), readable by its owner
 * only; and it must open this log's signing key.
 */
export const masterKeyCheck: Check = {
  id: 'master_key',
  title: 'master key kept apart',
  run(ctx: DoctorContext): CheckResult {
    const source = masterKeySource(ctx.keyFile, ctx.config.masterKeyFile);
    const fails: Finding[] = [];
    const fromEnv =
      source.keyFile === undefined && source.keyText !== undefined && source.keyText !== '';
    const effective = source.keyFile ?? (fromEnv ? undefined : source.fallbackKeyFile);
    const envKeyFile = process.env[KEY_FILE_ENV] || undefined; // as masterKeySource reads it
    let where: string;
    if (effective !== undefined) {
      const by =
        source.keyFile !== undefined
          ? '--key-file'
          : envKeyFile !== undefined
            ? KEY_FILE_ENV
            : 'master_key_file';
      where = `key file ${effective} (${by})`;
      checkKeyFile(effective, ctx, fails, true);
    } else if (fromEnv) {
      where = `the environment (${MASTER_KEY_ENV})`;
    } else {
      return {
        status: 'fail',
        summary: 'no master key is configured',
        findings: [
          {
            what: `neither --key-file, ${MASTER_KEY_ENV}, ${KEY_FILE_ENV} nor master_key_file names a master key`,
            fix: `set master_key_file in ${ctx.config.source ?? 'dihya-logs.yaml'} to the key file kept outside ${ctx.layout.dir} (see docs/keys.md)`,
          },
        ],
      };
    }
    // A key file configured but not used (the environment wins) may still sit among the logs.
    for (const other of new Set([ctx.config.masterKeyFile, envKeyFile])) {
      if (other === undefined || other === effective) continue;
      checkKeyFile(path.resolve(other), ctx, fails, false);
    }
    if (fails.length === 0) {
      try {
        readSigningKey(ctx.layout, ctx.meta, loadMasterKey(source, ctx.layout.dir));
      } catch (err) {
        const e = asLogsError(err);
        fails.push({
          what: `the master key from ${where} cannot open this log's signing key (${e.code}: ${e.message})`,
          fix:
            e.code === 'MASTER_KEY_WRONG'
              ? 'give the master key this logs directory was created with (--key-file, master_key_file or DIHYA_LOGS_MASTER_KEY)'
              : 'see docs/keys.md',
        });
      }
    }
    return fails.length > 0
      ? {
          status: 'fail',
          summary: `master key from ${where}: not safe or not usable`,
          findings: fails,
        }
      : {
          status: 'ok',
          summary: fromEnv
            ? `from the environment (${MASTER_KEY_ENV}); it opens this log's signing key`
            : `${where}: outside the logs directory, readable by its owner only, opens this log's signing key`,
          findings: [],
        };
  },
};

/** Where the key file really is: its directory resolved (links followed), then its own name. */
function realLocation(file: string): string {
  const abs = path.resolve(file);
  try {
    return realpathSync(abs);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function checkKeyFile(file: string, ctx: DoctorContext, fails: Finding[], inUse: boolean): void {
  const label = inUse ? 'the master key file' : 'a configured master key file (not in use)';
  let st;
  try {
    st = lstatSync(file);
  } catch {
    if (inUse)
      fails.push({
        what: `${label} ${file} does not exist`,
        fix: 'restore it from the copy kept apart from the logs (a new key cannot open this log), or point master_key_file or --key-file at it',
      });
    return;
  }
  const real = realLocation(file);
  const logsDir = realLocation(ctx.layout.dir);
  if (isInside(real, logsDir)) {
    fails.push({
      what: `${label} ${file}${real === file ? '' : ` (really ${real})`} is inside the logs directory ${ctx.layout.dir}: whoever copies the logs (or their backups) gets the key with them`,
      fix: `move it out, e.g. install -d -m 700 /etc/dihya-logs && mv ${shellArg(real)} /etc/dihya-logs/master.key, then set master_key_file: /etc/dihya-logs/master.key in ${ctx.config.source ?? 'dihya-logs.yaml'} (and treat backups made meanwhile as holding the key)`,
    });
  }
  if (st.isSymbolicLink()) {
    fails.push({
      what: `${label} ${file} is a symbolic link (to ${real}); key files are opened without following links`,
      fix: `point master_key_file (or --key-file) at ${real} itself`,
    });
    return;
  }
  if (!st.isFile()) {
    fails.push({ what: `${label} ${file} is not a regular file`, fix: 'see docs/keys.md' });
    return;
  }
  if ((st.mode & 0o077) !== 0) {
    fails.push({
      what: `${label} ${file} is readable or writable by group or others (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`,
      fix: `chmod 600 ${shellArg(file)}`,
    });
  }
}
