import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Damage, Warning } from '../../integrity/damage.js';
import type { LogLayout } from './layout.js';
import type { SegmentBook } from './segment-log.js';

/**
 * Legal holds as the audit trail records them (`retention.hold.set` / `.cleared`), to compare
 * with the segment log: removing the last `hold` entry of the segment log contradicts no file,
 * but it contradicts the chained, checkpointed audit event that came with it.
 */
export class HoldsInAudit {
  private readonly state = new Map<string, boolean>();
  private static readonly MARK = Buffer.from('"event":"retention.hold.');

  see(bytes: Buffer): void {
    if (bytes.indexOf(HoldsInAudit.MARK) === -1) return;
    try {
      const r = JSON.parse(bytes.toString('utf8')) as {
        event?: unknown;
        data?: { channel?: unknown };
      };
      const channel = r.data?.channel;
      if (typeof channel !== 'string') return;
      if (r.event === 'retention.hold.set') this.state.set(channel, true);
      else if (r.event === 'retention.hold.cleared') this.state.set(channel, false);
    } catch {
      // not a record: the chain check reports it
    }
  }

  compare(book: SegmentBook, damage: Damage[]): void {
    for (const [channel, set] of this.state) {
      if ((book.hold(channel) !== undefined) === set) continue;
      damage.push({
        kind: 'hold_mismatch',
        channel,
        file: '.integrity/segments.log',
        detail: set
          ? `the audit trail records a legal hold on ${channel} that the segment log does not hold: its entry was removed (or a crash came before it was signed); set the hold again`
          : `the segment log holds ${channel} but the audit trail records the hold as cleared`,
      });
    }
  }
}

/**
 * Files under archive/ that the segment log does not name: a renamed archive (then its old
 * name is reported missing too), a copy, or something planted. Temporary files of a seal in
 * progress start with a dot and are skipped, as is the staging directory.
 */
export function findUnknownArchives(
  layout: LogLayout,
  book: SegmentBook,
  damage: Damage[],
  warnings: Warning[],
): void {
  const known = new Set<string>();
  const pending = new Set<string>();
  for (const c of book.channels())
    for (const s of book.segments(c)) {
      if (s.file !== undefined) known.add(s.file);
      else pending.add(layout.archiveName(c, s.first, s.last, s.firstTs));
    }
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        const rel = path.relative(layout.dir, full).split(path.sep).join('/');
        if (pending.has(rel))
          warnings.push({
            kind: 'segment_pending',
            file: rel,
            detail: `${rel} was written by a seal that did not finish; the next open seals it again`,
          });
        else if (!known.has(rel))
          damage.push({
            kind: 'archive_unknown',
            file: rel,
            detail: `${rel} is not an archive the segment log names: renamed, copied or planted`,
          });
      }
    }
  };
  walk(layout.archiveDir);
}
