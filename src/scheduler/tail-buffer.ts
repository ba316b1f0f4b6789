/**
 * The last `limit` bytes of a stream, and how many bytes went through: what `run --capture`
 * keeps of a command's output without holding all of it.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private held = 0;
  /** Bytes seen in all. */
  total = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.limit <= 0) return;
    this.chunks.push(chunk);
    this.held += chunk.length;
    // Drop whole chunks that lie entirely before the last `limit` bytes.
    while (this.chunks.length > 1 && this.held - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.held -= this.chunks.shift()?.length ?? 0;
    }
  }

  /** True when more went through than is kept. */
  get truncated(): boolean {
    return this.total > this.limit;
  }

  /**
   * The kept bytes as text. A cut in the middle of a UTF-8 character would decode as U+FFFD:
   * the cut character's remaining bytes are skipped instead.
   */
  text(maxBytes = this.limit): string {
    const all = Buffer.concat(this.chunks);
    let start = Math.max(0, all.length - Math.min(maxBytes, this.limit));
    if (start > 0) {
      for (let i = 0; i < 3 && start < all.length && ((all[start] ?? 0) & 0xc0) === 0x80; i++)
        start++;
    }
    return all.subarray(start).toString('utf8');
  }
}
