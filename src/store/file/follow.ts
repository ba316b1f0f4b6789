import { closeSync, fstatSync, openSync, readSync, statSync, constants } from 'node:fs';
import { lastLines, splitLines } from './lines.js';

/** A place in a followed file: which file (inode) and the byte where the next line starts. */
export interface FollowPosition {
  readonly ino: number;
  readonly offset: number;
}

/**
 * Reads the records appended to a channel file as they arrive: by polling, which works on every
 * filesystem (inotify does not cross NFS or container mounts). Only complete lines are
 * delivered; a line still being written waits for its newline. Survives rotation: when the
 * name points to a new file, the old one (still open) is read to its end first, then the new
 * one from its start, so no record is skipped or shown twice.
 */
export class FileFollower {
  private offset: number;
  private partial: Buffer = Buffer.alloc(0);
  private fd: number | undefined;
  private ino = -1;

  constructor(
    private readonly file: string,
    startAt: number,
    /** At most this many bytes read per poll: a reader far behind catches up in steps. */
    private readonly maxRead = Infinity,
  ) {
    this.offset = startAt;
  }

  /**
   * Continue where a follower of this file stopped (its `position()`, saved), reading what was
   * appended since (`behind` bytes). When that is not possible, `gap` says why and where the
   * follower starts instead: at the start of the file now under the name (`rotated`: the saved
   * one was rotated away, its end unread) or at its end (`too_far`: more than `maxReplay` bytes
   * to read, none read).
   */
  static resume(
    file: string,
    saved: FollowPosition,
    options: { maxReplay: number; maxRead: number },
  ): { follower: FileFollower; behind: number; gap?: 'rotated' | 'too_far' } {
    const at = (offset: number): FileFollower => {
      const f = new FileFollower(file, offset, options.maxRead);
      f.open();
      return f;
    };
    let st;
    try {
      st = statSync(file);
    } catch {
      return { follower: at(0), behind: 0, gap: 'rotated' };
    }
    if (st.ino !== saved.ino || st.size < saved.offset)
      return { follower: at(0), behind: st.size, gap: 'rotated' };
    const behind = st.size - saved.offset;
    if (behind > options.maxReplay) return { follower: at(st.size), behind, gap: 'too_far' };
    const follower = at(saved.offset);
    if (follower.ino !== saved.ino) {
      // Rotated between the stat and the open: the saved file's end is gone from under its name.
      follower.offset = 0;
      return { follower, behind, gap: 'rotated' };
    }
    return { follower, behind };
  }

  /**
   * Where the next unread line starts: saved, it lets a later follower `resume()` here. Undefined
   * until the file has been opened.
   */
  position(): FollowPosition | undefined {
    return this.ino === -1
      ? undefined
      : { ino: this.ino, offset: this.offset - this.partial.length };
  }

  /** Start at the end of the file, after its last `n` complete lines, which are returned. */
  static fromTail(file: string, n: number): { follower: FileFollower; lines: Buffer[] } {
    let found: ReturnType<typeof lastLines>;
    try {
      found = lastLines(file, n);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        return { follower: new FileFollower(file, 0), lines: [] };
      throw err;
    }
    const follower = new FileFollower(file, found.end);
    return { follower, lines: found.lines.map((l) => Buffer.from(l)) };
  }

  /** New complete lines since the last call. */
  poll(): Buffer[] {
    return splitLines(this.pollChunk());
  }

  /**
   * New complete lines since the last call, as one buffer (each line ends with its newline):
   * a reader looking for a few records among many searches it without splitting it.
   */
  pollChunk(): Buffer {
    const chunks: Buffer[] = [];
    let current: number | undefined;
    try {
      current = statSync(this.file).ino;
    } catch {
      current = undefined; // between a rotation's rename and the new file: read what is open
    }
    if (this.fd === undefined && current !== undefined) this.open();
    if (this.fd === undefined) return Buffer.alloc(0);
    const drained = this.drain(chunks);
    if (drained && current !== undefined && current !== this.ino) {
      // Rotated: the old file is complete (drained above); continue with the new one.
      closeSync(this.fd);
      this.fd = undefined;
      this.offset = 0;
      this.partial = Buffer.alloc(0);
      if (this.open()) this.drain(chunks);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  }

  /** Stop following: release the open file. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /** Open the file under its name; false when it is not there (yet). */
  private open(): boolean {
    try {
      this.fd = openSync(this.file, constants.O_RDONLY);
      const st = fstatSync(this.fd);
      this.ino = st.ino;
      if (st.size < this.offset) {
        this.offset = 0; // replaced by a shorter file
        this.partial = Buffer.alloc(0);
      }
      return true;
    } catch {
      this.fd = undefined;
      return false;
    }
  }

  /** Read what the open file holds past the offset (up to maxRead); true when at its end. */
  private drain(chunks: Buffer[]): boolean {
    const fd = this.fd as number;
    const size = fstatSync(fd).size;
    if (size <= this.offset) return true;
    const data = Buffer.allocUnsafe(Math.min(size - this.offset, this.maxRead));
    const n = readSync(fd, data, 0, data.length, this.offset);
    this.offset += n;
    const all =
      this.partial.length === 0
        ? data.subarray(0, n)
        : Buffer.concat([this.partial, data.subarray(0, n)]);
    const end = all.lastIndexOf(10) + 1;
    if (end > 0) chunks.push(all.subarray(0, end));
    this.partial = Buffer.from(all.subarray(end));
    return this.offset >= size;
  }
}
