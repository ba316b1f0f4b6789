import { closeSync, fstatSync, openSync, readSync, statSync, constants } from 'node:fs';
import { lastLines } from './lines.js';

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
  ) {
    this.offset = startAt;
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
    const lines: Buffer[] = [];
    const chunk = this.pollChunk();
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      lines.push(chunk.subarray(start, nl));
      start = nl + 1;
    }
    return lines;
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
    this.drain(chunks);
    if (current !== undefined && current !== this.ino) {
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

  private drain(chunks: Buffer[]): void {
    const fd = this.fd as number;
    const size = fstatSync(fd).size;
    if (size <= this.offset) return;
    const data = Buffer.allocUnsafe(size - this.offset);
    const n = readSync(fd, data, 0, data.length, this.offset);
    this.offset += n;
    const all =
      this.partial.length === 0
        ? data.subarray(0, n)
        : Buffer.concat([this.partial, data.subarray(0, n)]);
    const end = all.lastIndexOf(10) + 1;
    if (end > 0) chunks.push(all.subarray(0, end));
    this.partial = Buffer.from(all.subarray(end));
  }
}
