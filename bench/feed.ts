/**
 * Call `emit(i)` for i in [0, n), `batch` calls per turn of the event loop: after each batch the
 * producer yields with setImmediate, so I/O callbacks (the loggers' writes) get to run, as they
 * would between requests in a server. Resolves once the last call is made.
 */
export function feed(n: number, batch: number, emit: (i: number) => void): Promise<void> {
  return new Promise((resolve) => {
    let i = 0;
    const step = (): void => {
      const end = Math.min(n, i + batch);
      for (; i < end; i++) emit(i);
      if (i < n) setImmediate(step);
      else resolve();
    };
    step();
  });
}
