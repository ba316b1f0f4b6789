/** What verify can find wrong, one stable name per kind of damage. */
export const DAMAGE_KINDS = {
  malformed_record: 'a line is not a record (not JSON, or no hash at its end)',
  record_altered:
    "a record's hash does not follow from its content and the previous record: it or the one before it was altered",
  records_missing: 'seq jumps forward: records were deleted',
  records_out_of_order: 'seq goes back: a line was duplicated, moved or inserted',
  foreign_record: 'a record of another channel or log was inserted',
  invalid_record: 'a record is chained correctly but is not a valid record (--deep)',
  not_canonical: 'a record is not stored in canonical form (--deep)',
  truncated: 'the file ends before the last signed checkpoint: records were removed from its end',
  appended_after_close:
    "records follow the final checkpoint of a clean close: they were added behind the writer's back",
  checkpoint_mismatch: "the records disagree with a signed checkpoint's chain head or Merkle root",
  unsigned_records:
    'records no signed checkpoint covers, older than a crash explains: the checkpoints that covered them were removed, or an open found them unproven',
  checkpoints_cut:
    'the checkpoint log is empty, or shorter than or different from what the segment log signed: checkpoints were removed',
  rollback:
    'the log is shorter than, or differs from, a tree a witness cosigned: it was rolled back or forked',
  checkpoint_malformed: 'a checkpoint line is not a valid checkpoint',
  checkpoint_chain: 'checkpoints do not chain: one was removed, inserted or reordered',
  checkpoint_signature: 'a checkpoint signature is invalid: it was altered or forged',
  checkpoint_regressed: "a channel's checkpoint size went backwards",
  wrong_key: 'signed by a key other than the log’s (pinned) public key',
  file_missing: 'a channel file named by checkpoints is missing',
  archive_missing: 'an archive named by the segment log is missing: it was deleted or renamed',
  archive_altered:
    'an archive differs from its signed seal (size or SHA-256): it was replaced, edited or re-compressed',
  archive_unknown:
    'a file in archive/ is not named by the segment log: a renamed, copied or planted archive',
  segment_gap: 'seq does not continue from one segment to the next: a segment is missing',
  segment_mismatch: "a segment's records disagree with its signed cut (range or last hash)",
  segment_log: 'the segment log is malformed, does not chain, or carries a bad signature',
  hold_mismatch:
    'the legal holds of the segment log disagree with the audit trail: a hold entry was removed',
  log_meta: '.integrity/log.json is missing or malformed',
} as const;

export type DamageKind = keyof typeof DAMAGE_KINDS;

/** The first bad place: as precise as the evidence allows. */
export interface Damage {
  readonly kind: DamageKind;
  readonly channel?: string;
  /** File, relative to the logs directory. */
  readonly file?: string;
  /** 1-based line number in `file`. */
  readonly line?: number;
  /** The seq expected at that place. */
  readonly seq?: number;
  readonly detail: string;
}

/** Where a damage is, as verify names it: `channel, file, line N, seq N` (what is known). */
export function damagePlace(d: {
  readonly channel?: string;
  readonly file?: string;
  readonly line?: number;
  readonly seq?: number;
}): string {
  return [
    d.channel,
    d.file,
    d.line === undefined ? undefined : `line ${d.line}`,
    d.seq === undefined ? undefined : `seq ${d.seq}`,
  ]
    .filter((x) => x !== undefined)
    .join(', ');
}

export const WARNING_KINDS = {
  torn_tail:
    'the file ends with an unfinished line (a crash mid-write); the next open moves it aside',
  unsigned_tail: 'records after the last checkpoint are protected by the chain but not yet signed',
  key_not_pinned: 'no pinned public key: a log re-signed with a new key pair would not be noticed',
  channel_file_missing: 'a channel has no file and no checkpoint',
  segment_pending:
    'a rotated segment waits in archive/.staging to be sealed (next open or archive job)',
  witness_unreachable:
    'a configured witness could not be asked (or answered something unusable): its view was not compared',
  tombstoned_archive_present:
    'retention tombstoned an archive that is still on disk (the next retention run deletes it)',
} as const;

export type WarningKind = keyof typeof WARNING_KINDS;

export interface Warning {
  readonly kind: WarningKind;
  readonly channel?: string;
  readonly file?: string;
  readonly detail: string;
}
