import { closeSync, fstatSync, openSync, constants } from 'node:fs';
import { lineHash } from '../integrity/chain.js';
import { CompactRange } from '../integrity/merkle.js';
import { consistencyPath, rangeRoot, type SubtreeRoots } from '../integrity/merkle-range.js';
import { consistencyProofFromIndex } from '../index/proofs.js';
import { scanFd } from '../store/file/lines.js';
import type { LogLayout } from '../store/file/layout.js';
import { loadState } from '../store/file/state-file.js';
import type { IndexAccess } from './index-access.js';

/** Where a channel's tree was last left: its peaks at `size`, and where record size+1 starts. */
interface Mark {
  readonly size: number;
  readonly peaks: readonly string[];
  readonly ino: number;
  readonly offset: number;
}

// Leaves kept per proof: past this, the index serves it (a burst of millions of records).
const MAX_LEAVES = 4_000_000;

/**
 * Consistency proofs for the witness client without building the index: every proof node left
 * of the old size is a peak of the old tree, every node right of it a subtree of the records
 * written since, so the peaks at the last proven size and the new records' chain hashes (read
 * from the active file, from where the last proof stopped) are enough. Each proof is checked
 * against the signed root before it is given; when the marks are unknown (a restart, a
 * rotation in between) the index gives the proof instead, and the marks start again from it.
 */
export class WitnessProofs {
  // A few marks per channel: witnesses at different sizes each start from their own.
  private readonly marks = new Map<string, Mark[]>();
  private readonly proofs = new Map<string, { key: string; proof: readonly string[] }>();

  constructor(
    private readonly layout: LogLayout,
    private readonly index: IndexAccess,
  ) {}

  async consistency(
    channel: string,
    from: number,
    to: number,
    rootAtTo: string | undefined,
  ): Promise<readonly string[]> {
    if (from === 0 || from === to) {
      // Nothing to prove (tlog-witness sends no proof from an empty tree); start marks here.
      this.markFromState(channel, to);
      return [];
    }
    const key = `${from}:${to}:${rootAtTo ?? ''}`;
    const known = this.proofs.get(channel);
    if (known?.key === key) return known.proof; // the same request for the next witness
    let proof: readonly string[] | undefined = this.fromMark(channel, from, to, rootAtTo);
    if (proof === undefined) {
      await this.index.caughtUp();
      proof = consistencyProofFromIndex(this.index.db, channel, from, to).hashes;
      this.markFromState(channel, to);
    }
    this.proofs.set(channel, { key, proof });
    return proof;
  }

  private mark(channel: string, size: number): Mark | undefined {
    const found = this.marks.get(channel)?.find((m) => m.size === size);
    if (found !== undefined) return found;
    const s = this.stateMark(channel);
    return s?.size === size ? s : undefined;
  }

  private remember(channel: string, mark: Mark): void {
    const list = (this.marks.get(channel) ?? []).filter((m) => m.size !== mark.size);
    list.push(mark);
    this.marks.set(channel, list.slice(-4));
  }

  private fromMark(
    channel: string,
    from: number,
    to: number,
    rootAtTo: string | undefined,
  ): string[] | undefined {
    const mark = this.mark(channel, from);
    if (mark === undefined || rootAtTo === undefined || to <= from) return undefined;
    const read = readLeaves(this.layout.channelFile(channel), mark, to - from);
    if (read === undefined) return undefined;
    const tree = new PeaksAndLeaves(mark.size, mark.peaks, read.leaves);
    const range = new CompactRange({ size: mark.size, peaks: [...mark.peaks] });
    for (const l of read.leaves) range.append(l.toString('hex'));
    // The file is not what was signed (or not the same file): the index, and verify, say more.
    if (range.root() !== rootAtTo) return undefined;
    const proof = consistencyPath(tree, from).map((b) => b.toString('hex'));
    this.remember(channel, {
      size: to,
      peaks: range.state().peaks,
      ino: mark.ino,
      offset: read.end,
    });
    return proof;
  }

  /** The writer's state file: peaks at its last checkpoint and where its records end. */
  private stateMark(channel: string): Mark | undefined {
    const s = loadState(this.layout, channel);
    const ino = inode(this.layout.channelFile(channel));
    if (s === undefined || ino === undefined) return undefined;
    return { size: s.size, peaks: s.peaks, ino, offset: s.offset };
  }

  private markFromState(channel: string, size: number): void {
    const m = this.stateMark(channel);
    if (m?.size === size) this.remember(channel, m);
  }
}

/** Peaks of the old tree, then the new leaves: the subtrees a consistency proof asks for. */
class PeaksAndLeaves implements SubtreeRoots {
  readonly size: number;
  private readonly peakAt = new Map<string, Buffer>();

  constructor(
    private readonly old: number,
    peaks: readonly string[],
    private readonly leaves: readonly Buffer[],
  ) {
    this.size = old + leaves.length;
    let lo = 0;
    let i = 0;
    for (let bit = 52; bit >= 0; bit--) {
      const span = 2 ** bit;
      if (Math.floor(old / span) % 2 === 0) continue;
      const p = peaks[i++];
      if (p !== undefined) this.peakAt.set(`${lo}:${lo + span}`, Buffer.from(p, 'hex'));
      lo += span;
    }
  }

  root(lo: number, hi: number): Buffer {
    if (hi <= this.old) {
      const p = this.peakAt.get(`${lo}:${hi}`);
      if (p === undefined) throw new RangeError(`no peak ${lo}:${hi} of a tree of ${this.old}`);
      return p;
    }
    if (lo < this.old) throw new RangeError(`${lo}:${hi} straddles ${this.old}`);
    return rangeRoot((i) => this.leaves[i - this.old] as Buffer, lo, hi);
  }
}

function inode(file: string): number | undefined {
  try {
    const fd = openSync(file, constants.O_RDONLY);
    try {
      return fstatSync(fd).ino;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** The next `count` records' chain hashes after `mark`, when the file is still the same one. */
function readLeaves(
  file: string,
  mark: Mark,
  count: number,
): { leaves: Buffer[]; end: number } | undefined {
  if (count > MAX_LEAVES) return undefined;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY);
  } catch {
    return undefined;
  }
  try {
    if (fstatSync(fd).ino !== mark.ino) return undefined; // rotated since
    const leaves: Buffer[] = [];
    let end = mark.offset;
    const bad = { line: false };
    scanFd(
      fd,
      ({ bytes, offset }) => {
        const h = lineHash(bytes);
        if (h === undefined) {
          bad.line = true;
          return false;
        }
        leaves.push(Buffer.from(h, 'hex'));
        end = offset + bytes.length + 1;
        return leaves.length < count;
      },
      { start: mark.offset },
    );
    return bad.line || leaves.length !== count ? undefined : { leaves, end };
  } finally {
    closeSync(fd);
  }
}
