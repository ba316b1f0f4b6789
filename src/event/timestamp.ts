/**
 * Stamps records of one channel with the wall clock: UTC, ISO 8601 with milliseconds. When the
 * clock goes back, the time is kept as read and `skew` says by how much it went back compared
 * with the latest time seen: order is seq, never ts.
 */
export class TimeStamper {
  /** The ISO time of the last stamp. */
  ts = '';
  /** Milliseconds the clock went back at the last stamp (0 when it did not). */
  skew = 0;
  private latest: number;
  private isoMs = -1;

  constructor(
    private readonly clock: () => number,
    latestMs = 0,
  ) {
    this.latest = latestMs;
  }

  /** Read the clock; then read `ts` and `skew`. Returns the skew. */
  stamp(): number {
    const ms = this.clock();
    if (ms < this.latest) {
      this.skew = this.latest - ms;
    } else {
      this.skew = 0;
      this.latest = ms;
    }
    if (ms !== this.isoMs) {
      // Many records share a millisecond: format it once.
      this.isoMs = ms;
      this.ts = new Date(ms).toISOString();
    }
    return this.skew;
  }
}
