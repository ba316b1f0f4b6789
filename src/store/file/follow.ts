import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, constants } from 'node:fs';
import { lastLines } from './lines.js';

/**
 * Reads the records appended to a channel file as they arrive: by polling its size, which works
 * on every filesystem (inotify does not cross NFS or container mounts). Only complete lines are
 * delivered; a line still being written waits for its newline.
 */
export class FileFollower {
  private offset: number;
  private partial: Buffer = Buffer.alloc(0);

  constructor(
    private readonly file: string,
    startAt: number,
  ) {
    this.offset = startAt;
  }

  /** Start at the end of the file, after its last `n` complete lines, which are returned. */
  static fromTail(file: string, n: number): { follower: FileFollower; lines: Buffer[] } {
    if (!existsSync(file)) return { follower: new FileFollower(file, 0), lines: [] };
    const { lines, end } = lastLines(file, n);
    return { follower: new FileFollower(file, end), lines: lines.map((l) => Buffer.from(l)) };
  }

  /** New complete lines since the last call. A file that shrank (replaced) is read from its start. */
  poll(): Buffer[] {
    if (!existsSync(this.file)) return [];
    const size = statSync(this.file).size;
    if (size < this.offset) {
      this.offset = 0;
      this.partial = Buffer.alloc(0);
    }
    if (size === this.offset) return [];
    const fd = openSync(this.file, constants.O_RDONLY);
    let data: Buffer;
    try {
      const length = fstatSync(fd).size - this.offset;
      data = Buffer.allocUnsafe(Math.max(0, length));
      const n = length > 0 ? readSync(fd, data, 0, length, this.offset) : 0;
      data = data.subarray(0, n);
      this.offset += n;
    } finally {
      closeSync(fd);
    }
    const all = this.partial.length === 0 ? data : Buffer.concat([this.partial, data]);
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = all.indexOf(10); nl !== -1; nl = all.indexOf(10, start)) {
      lines.push(all.subarray(start, nl));
      start = nl + 1;
    }
    this.partial = Buffer.from(all.subarray(start));
    return lines;
  }
}
