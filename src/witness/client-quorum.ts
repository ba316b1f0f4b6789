/**
 * Which witnesses hold a cosignature of which tree, per origin, to tell the newest tree that at
 * least `quorum` of them cosigned. Bounded: trees older than that one are dropped, and at most
 * MAX_TREES trees waiting for a quorum are kept per origin (the oldest go first).
 */
const MAX_TREES = 1024;

/** A tree of an origin: its size and root (hex). */
export interface Tree {
  readonly size: number;
  readonly root: string;
}

export class QuorumTracker {
  private readonly pending = new Map<string, Map<string, { tree: Tree; by: Set<string> }>>();
  private readonly reached = new Map<string, Tree>();

  constructor(private readonly quorum: number) {}

  /** Witness `name` cosigned `tree` of `origin`. */
  add(origin: string, tree: Tree, name: string): void {
    const done = this.reached.get(origin);
    if (done !== undefined && tree.size <= done.size) return;
    let trees = this.pending.get(origin);
    if (trees === undefined) {
      trees = new Map();
      this.pending.set(origin, trees);
    }
    const key = `${tree.size} ${tree.root}`;
    let entry = trees.get(key);
    if (entry === undefined) {
      if (trees.size >= MAX_TREES) {
        const smallest = [...trees].sort((a, b) => a[1].tree.size - b[1].tree.size)[0];
        if (smallest !== undefined) trees.delete(smallest[0]);
      }
      entry = { tree, by: new Set() };
      trees.set(key, entry);
    }
    entry.by.add(name);
    if (entry.by.size < this.quorum) return;
    this.reached.set(origin, tree);
    for (const [k, e] of trees) if (e.tree.size <= tree.size) trees.delete(k);
  }

  /** The newest tree of `origin` cosigned by at least `quorum` witnesses, if any. */
  newest(origin: string): Tree | undefined {
    return this.reached.get(origin);
  }
}
