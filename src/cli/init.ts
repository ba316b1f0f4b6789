import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { LogsError } from '../errors.js';
import { CONFIG_ENV, CONFIG_NAMES, DIR_ENV } from '../config/load.js';
import { configTemplate } from '../config/template.js';
import { resolveConfig, type Config } from '../config/resolve.js';
import {
  generateKeyFile,
  loadMasterKey,
  KEY_FILE_ENV,
  MASTER_KEY_ENV,
} from '../crypto/masterkey.js';
import { LogLayout, initLogDirectory, readMeta } from '../store/file/index.js';
import { writeFileDurable } from '../util/fs.js';
import { storeSummary } from '../policy/state.js';
import { POLICY_README, refreshReadme } from '../policy/readme.js';
import { policySummary } from '../policy/summary.js';
import { globals, type Io } from './context.js';

interface InitOptions {
  readonly existOk?: boolean;
  readonly json?: boolean;
}

export function registerInit(program: Command, io: Io): void {
  program
    .command('init')
    .description('create a logs directory, its signing key and (if absent) dihya-logs.yaml')
    .option('--exist-ok', 'succeed without changes if the directory is already initialized')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The master key comes from --key-file (created if it does not exist), ${MASTER_KEY_ENV},
${KEY_FILE_ENV}, or master_key_file in the configuration. With none of them, init creates
dihya-logs.key beside the configuration file, mode 0600. Keep it apart from the logs.`,
    )
    .action((opts: InitOptions, cmd: Command) => runInit(opts, cmd, io));
}

function runInit(opts: InitOptions, cmd: Command, io: Io): void {
  const g = globals(cmd);
  const cwd = process.cwd();
  const configFile = findConfigFile(g.config, cwd);
  const raw =
    configFile !== undefined && existsSync(configFile)
      ? (parseDocument(readFileSync(configFile, 'utf8')).toJS() as unknown)
      : {};
  const baseDir = configFile === undefined ? cwd : path.dirname(configFile);
  const dirFlag = g.dir ?? (process.env[DIR_ENV] || undefined);
  const config = resolveConfig(
    dirFlag === undefined ? raw : { ...(raw as object), dir: path.resolve(cwd, dirFlag) },
    baseDir,
    configFile,
  );
  const layout = new LogLayout(config.dir);

  if (existsSync(layout.metaFile)) {
    if (opts.existOk !== true) {
      throw new LogsError(
        'LOGS_ALREADY_INITIALIZED',
        `${layout.dir} is already a logs directory; nothing was changed (use --exist-ok to accept that)`,
      );
    }
    const meta = readMeta(layout);
    // The policy README follows the configuration; the audit event of a change is written
    // when the logs are next opened (that is where the stored summary is compared).
    const readme = refreshReadme(layout, config) ? 'rewritten' : 'unchanged';
    print(io, opts, {
      dir: layout.dir,
      logId: meta.log_id,
      publicKey: meta.public_key,
      created: false,
      readme,
    });
    return;
  }

  // The master key: an existing source, or a new key file.
  const keyFile = g.keyFile ?? (process.env[KEY_FILE_ENV] || undefined) ?? config.masterKeyFile;
  const keyText = process.env[MASTER_KEY_ENV];
  let newKeyFile: string | undefined;
  let masterKey: Buffer;
  if (g.keyFile === undefined && keyText !== undefined && keyText !== '') {
    masterKey = loadMasterKey({ keyText }, layout.dir);
  } else if (keyFile !== undefined && existsSync(keyFile)) {
    masterKey = loadMasterKey({ keyFile }, layout.dir);
  } else {
    newKeyFile = path.resolve(cwd, keyFile ?? path.join(baseDir, 'dihya-logs.key'));
    masterKey = generateKeyFile(newKeyFile, layout.dir);
  }

  const { meta } = initLogDirectory(layout.dir, masterKey, Object.keys(config.channels));
  const keyFileForConfig =
    newKeyFile ?? (g.keyFile === undefined ? undefined : path.resolve(cwd, g.keyFile));
  const pinnedIn = pinInConfig(
    configFile ?? path.join(cwd, CONFIG_NAMES[0]),
    layout.dir,
    keyFileForConfig,
    meta.public_key,
  );
  // The log policy, as the configuration now says it (key pinned), for whoever opens the
  // directory; its summary is what the first open compares the configuration with.
  const pinned: Config = {
    ...config,
    source: pinnedIn,
    integrity: { ...config.integrity, publicKey: meta.public_key },
  };
  refreshReadme(layout, pinned);
  storeSummary(layout, policySummary(pinned));
  print(io, opts, {
    dir: layout.dir,
    logId: meta.log_id,
    publicKey: meta.public_key,
    created: true,
    newKeyFile,
    pinnedIn,
    readme: 'written',
  });
}

function findConfigFile(flag: string | undefined, cwd: string): string | undefined {
  const explicit = flag ?? (process.env[CONFIG_ENV] || undefined);
  if (explicit !== undefined) return path.resolve(cwd, explicit);
  return CONFIG_NAMES.map((n) => path.join(cwd, n)).find((f) => existsSync(f));
}

/**
 * Write the commented default configuration, or add the public key (and a new key file) to an
 * existing one, keeping its comments. Returns the file's path.
 */
function pinInConfig(
  file: string,
  dir: string,
  keyFile: string | undefined,
  publicKey: string,
): string {
  const rel = (p: string): string => {
    const r = path.relative(path.dirname(file), p);
    return r.startsWith('..') || path.isAbsolute(r) ? p : `./${r}`;
  };
  if (!existsSync(file)) {
    writeFileDurable(
      file,
      configTemplate({
        dir: rel(dir),
        masterKeyFile: keyFile === undefined ? undefined : rel(keyFile),
        publicKey,
      }),
      {
        exclusive: true,
      },
    );
    return file;
  }
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['integrity', 'public_key'], publicKey);
  if (keyFile !== undefined && !doc.hasIn(['master_key_file']))
    doc.set('master_key_file', rel(keyFile));
  writeFileDurable(file, doc.toString());
  return file;
}

interface InitOutcome {
  readonly dir: string;
  readonly logId: string;
  readonly publicKey: string;
  readonly created: boolean;
  readonly newKeyFile?: string | undefined;
  readonly pinnedIn?: string;
  /** The log policy, README.md in the logs directory. */
  readonly readme: 'written' | 'rewritten' | 'unchanged';
}

function print(io: Io, opts: InitOptions, r: InitOutcome): void {
  if (opts.json === true) {
    io.out(`${JSON.stringify(r)}\n`);
    return;
  }
  if (!r.created) {
    io.out(
      r.readme === 'rewritten'
        ? `${r.dir} is already initialized (log ${r.logId}); its README.md (the log policy) was rewritten for the current configuration.\n`
        : `${r.dir} is already initialized (log ${r.logId}); nothing changed.\n`,
    );
    return;
  }
  io.out(`Initialized logs directory ${r.dir}\n`);
  io.out(`  log id      ${r.logId}\n`);
  io.out(`  policy      ${path.join(r.dir, POLICY_README)}  (dihya-logs policy prints it)\n`);
  io.out(
    `  public key  ${r.publicKey}${r.pinnedIn === undefined ? '' : `  (pinned in ${r.pinnedIn})`}\n`,
  );
  if (r.newKeyFile !== undefined) {
    io.out(`  master key  ${r.newKeyFile}  (new, mode 0600)\n\n`);
    io.out(
      'IMPORTANT: keep the master key file apart from the logs directory and from its backups.\n' +
        'Whoever holds both can sign checkpoints and read the personal data in the logs;\n' +
        'whoever loses it can no longer sign new records. Back it up somewhere else.\n',
    );
  }
}
