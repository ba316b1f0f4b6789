import type { Checkpoint } from '../../integrity/checkpoint.js';
import type { ChannelVerifier } from '../../integrity/channel-verifier.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import type { CheckpointPin } from './checkpoint-log.js';
import type { ChannelReport, VerifyOptions } from '../verify-report.js';

/** The checkpoint log contradicts a pin a signed segment entry holds. */
export function checkpointsCut(
  file: string,
  line: number,
  pin: CheckpointPin,
  how: string,
): Damage {
  return {
    kind: 'checkpoints_cut',
    file,
    line,
    detail: `the checkpoint log ${how} what a signed segment entry saw (${pin.bytes} bytes ending with a line of SHA-256 ${pin.last.slice(0, 16)}...): checkpoints were removed or rewritten`,
  };
}

/**
 * A crash leaves unsigned only the records of its last checkpoint interval, in every channel
 * alike: records unsigned in one channel but older than what another channel got signed were
 * covered by checkpoints that are gone.
 */
export function unsignedOlderThanSigned(
  verifiers: ReadonlyMap<string, ChannelVerifier>,
  channels: ChannelReport[],
  damage: Damage[],
  warnings: Warning[],
): void {
  let newest: { ms: number; channel: string } | undefined;
  for (const [channel, v] of verifiers) {
    const ms = v.lastSignedTs;
    if (ms !== undefined && ms > (newest?.ms ?? -Infinity)) newest = { ms, channel };
  }
  if (newest === undefined) return;
  for (const [channel, v] of verifiers) {
    if (v.damage !== undefined) continue;
    const d = v.reportUnsignedOlderThan(
      newest.ms,
      `the ${newest.channel} channel has signed records up to ${new Date(newest.ms).toISOString()}`,
    );
    if (d === undefined) continue;
    damage.push(d);
    const i = channels.findIndex((c) => c.channel === channel);
    const c = channels[i];
    if (c !== undefined) channels[i] = { ...c, ok: false, damage: d };
    for (let w = warnings.length - 1; w >= 0; w--) {
      const x = warnings[w] as Warning;
      if (x.kind === 'unsigned_tail' && x.channel === channel) warnings.splice(w, 1);
    }
  }
}

/**
 * A checkpoint disagrees with the records: name the first record whose leaf is not the one the
 * checkpoint committed to, by comparing with leaves kept elsewhere (the index) that do produce
 * the signed root. Without such leaves the checkpoint is named, as before.
 */
export function firstRewritten(
  v: ChannelVerifier,
  d: Damage,
  checkpoints: readonly Checkpoint[],
  committedLeaves: NonNullable<VerifyOptions['committedLeaves']>,
): Damage {
  const cp = checkpoints.find((c) => c.size === d.seq);
  const since = v.leavesSinceMatch;
  if (cp === undefined || d.channel === undefined || since.leaves.length === 0) return d;
  let leafAt: ((seq: number) => string | undefined) | undefined;
  try {
    leafAt = committedLeaves(d.channel, cp.size, cp.root);
  } catch {
    return d;
  }
  if (leafAt === undefined) return d;
  for (const [i, l] of since.leaves.entries()) {
    const seq = since.from + i;
    if (seq > cp.size) break;
    if (leafAt(seq) === l.hash) continue;
    return {
      kind: 'checkpoint_mismatch',
      channel: d.channel,
      file: since.file,
      line: l.line,
      seq,
      detail: `seq ${seq} is not the record the checkpoint signed at ${cp.ts} committed to (its Merkle leaf differs; found with the index's copy of the signed tree): it and the records after it were rewritten and their chain recomputed`,
    };
  }
  return d;
}
