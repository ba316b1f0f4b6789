import path from 'node:path';

/**
 * Where everything lives inside a logs directory (DESIGN.md, "On disk"). Only this file knows
 * the names; every other module asks it.
 */
export class LogLayout {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  channelFile(channel: string): string {
    return path.join(this.dir, `${channel}.log`);
  }

  get archiveDir(): string {
    return path.join(this.dir, 'archive');
  }

  get exportDir(): string {
    return path.join(this.dir, 'export');
  }

  get integrityDir(): string {
    return path.join(this.dir, '.integrity');
  }

  get quarantineDir(): string {
    return path.join(this.integrityDir, 'quarantine');
  }

  get stateDir(): string {
    return path.join(this.integrityDir, 'state');
  }

  /**
   * One of dihya-logs' own state files (not a channel's Merkle state): its name holds a dot,
   * which no channel name does, so it never takes the place of a `<channel>.json`.
   */
  serviceStateFile(name: ServiceStateFile): string {
    return path.join(this.stateDir, SERVICE_STATE_FILES[name]);
  }

  get keysDir(): string {
    return path.join(this.dir, '.keys');
  }

  get indexDir(): string {
    return path.join(this.dir, '.index');
  }

  /** Log id, public key, channels: written once by init. */
  get metaFile(): string {
    return path.join(this.integrityDir, 'log.json');
  }

  get publicKeyFile(): string {
    return path.join(this.integrityDir, 'public-key.txt');
  }

  /** The signed segment log: cuts, seals, tombstones and legal holds (integrity/segment.ts). */
  get segmentsFile(): string {
    return path.join(this.integrityDir, 'segments.log');
  }

  /** Rotated segments waiting to be compressed and sealed. Not a place readers list. */
  get stagingDir(): string {
    return path.join(this.archiveDir, '.staging');
  }

  stagingFile(channel: string, first: number, last: number): string {
    return path.join(this.stagingDir, `${channel}-${first}-${last}.log`);
  }

  /** `archive/YYYY/MM/<channel>-<first>-<last>.log.gz`, relative to the logs directory. */
  archiveName(channel: string, first: number, last: number, firstTs: string): string {
    const year = firstTs.slice(0, 4);
    const month = firstTs.slice(5, 7);
    return `archive/${year}/${month}/${channel}-${first}-${last}.log.gz`;
  }

  /** Absolute path of a relative name from the segment log (checked by its parser). */
  resolve(relative: string): string {
    return path.join(this.dir, ...relative.split('/'));
  }

  /** Witnesses' cosignatures of the checkpoints, one JSON line each (see cosignatures.ts). */
  get cosignaturesFile(): string {
    return path.join(this.integrityDir, 'cosignatures.log');
  }

  get checkpointsFile(): string {
    return path.join(this.integrityDir, 'checkpoints.log');
  }

  /** Cache of a channel's Merkle peaks at its last checkpoint, to resume without a full scan. */
  stateFile(channel: string): string {
    return path.join(this.stateDir, `${channel}.json`);
  }

  get signingKeyFile(): string {
    return path.join(this.keysDir, 'signing-key.json');
  }

  /** The subject keystore (SQLite): pseudonyms and wrapped data keys. */
  get subjectsFile(): string {
    return path.join(this.keysDir, 'subjects.db');
  }

  get lockFile(): string {
    return path.join(this.dir, '.lock');
  }

  /** Every directory init creates, parents first. */
  get directories(): string[] {
    return [
      this.dir,
      this.archiveDir,
      this.stagingDir,
      this.exportDir,
      this.integrityDir,
      this.quarantineDir,
      this.stateDir,
      this.keysDir,
      this.indexDir,
    ];
  }
}

const SERVICE_STATE_FILES = {
  /** The service's last verification result (doctor reads it). */
  lastVerify: 'service.last-verify.json',
  /** Which account did which privileged action (the first-use detector). */
  privileges: 'detect.privileges.json',
  /** Where detection stopped reading each channel file. */
  positions: 'detect.positions.json',
  /** Alerts not delivered yet. */
  outbox: 'alert.outbox.json',
  /** The policy settings last recorded (config.policy.changed). */
  policySummary: 'policy.summary.json',
} as const;

export type ServiceStateFile = keyof typeof SERVICE_STATE_FILES;
