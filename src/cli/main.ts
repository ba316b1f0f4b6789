import { Command, CommanderError } from 'commander';
import { registerInit } from './init.js';
import { registerWrite } from './write.js';
import { registerVerify } from './verify.js';
import { registerTail } from './tail.js';
import { registerScheduler } from './scheduler.js';
import { registerRun } from './run.js';
import { registerLifecycle } from './lifecycle.js';
import { registerReindex } from './reindex.js';
import { registerQuery } from './query.js';
import { registerErase, registerGdpr } from './gdpr.js';
import { registerKeys } from './keys.js';
import { registerServe } from './serve.js';
import { registerPolicy } from './policy.js';
import { registerDoctor } from './doctor.js';
import { registerWitness } from './witness.js';
import { registerProof } from './proof.js';
import { registerVerifyBundle } from './verify-bundle.js';
import { registerImport } from './import.js';
import { processIo, reportFailure, terminalGuard, type Io } from './context.js';
import { VERSION } from '../version.js';

/** Build the `dihya-logs` program. Commands write through `io`, so tests can capture them. */
export function buildProgram(io: Io = processIo): Command {
  const program = new Command('dihya-logs')
    .description('structured, secret-free, tamper-evident logs and audit trail')
    .version(VERSION)
    .option(
      '--dir <dir>',
      'logs directory (default ./logs, or DIHYA_LOGS_DIR, or dir in the configuration)',
    )
    .option(
      '--config <file>',
      'configuration file (default ./dihya-logs.yaml, or DIHYA_LOGS_CONFIG)',
    )
    .option('--key-file <file>', 'master key file (mode 0600, outside the logs directory)')
    .option('--debug', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  registerInit(program, io);
  registerWrite(program, io);
  registerVerify(program, io);
  registerTail(program, io);
  registerScheduler(program, io);
  registerRun(program, io);
  registerLifecycle(program, io);
  registerReindex(program, io);
  registerQuery(program, io);
  registerGdpr(program, io);
  registerErase(program, io);
  registerKeys(program, io);
  registerServe(program, io);
  registerPolicy(program, io);
  registerDoctor(program, io);
  registerWitness(program, io);
  registerProof(program, io);
  registerVerifyBundle(program, io);
  registerImport(program, io);
  return program;
}

/** Run the CLI and return its exit code: 0 ok, 1 failure (or damage), 2 usage or configuration. */
export async function main(argv: readonly string[], raw: Io = processIo): Promise<number> {
  const io = terminalGuard(raw);
  const program = buildProgram(io);
  process.exitCode = 0;
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander already printed what it had to.
      return err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.exitCode === 0
        ? 0
        : 2;
    }
    return reportFailure(err, io, argv.includes('--debug'));
  }
}
