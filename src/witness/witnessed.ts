import type { KeyObject } from 'node:crypto';
import { LogsError } from '../errors.js';
import { channelOrigin } from '../integrity/checkpoint-note.js';
import type { Warning } from '../integrity/damage.js';
import {
  ed25519Verifier,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifyCosignature,
  type NoteVerifier,
} from '../integrity/note/index.js';
import { checkpointNoteText } from '../integrity/checkpoint-note.js';
import { readCosignatures, readMeta, type LogLayout } from '../store/file/index.js';
import { originHash } from './state.js';
import { parsePublicKey } from '../crypto/sign.js';

/** A tree size and root a witness cosigned for a channel: the log had it, whatever it has now. */
export interface WitnessedCheckpoint {
  readonly channel: string;
  readonly size: number;
  /** Merkle root, hex. */
  readonly root: string;
  /** Who vouches for it: the witness's name, and where it was read. */
  readonly witness: string;
  readonly source: 'witness' | 'cosignatures.log';
}

export interface GatherOptions {
  readonly layout: LogLayout;
  readonly logId: string;
  /** The log's public key (the pinned one). */
  readonly publicKey: KeyObject;
  readonly logName: string | undefined;
  readonly channels: readonly string[];
  readonly witnesses: ReadonlyArray<{ readonly url: string; readonly key: string }>;
  /** Ask the witnesses too (network); else only the cosignatures kept locally. Default true. */
  readonly online?: boolean;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

const MAX_NOTE_BYTES = 64 * 1024;

/**
 * What the configured witnesses cosigned of this log, for verify to compare with the files: the
 * cosignatures kept in `.integrity/cosignatures.log` (lost with a rollback of the directory),
 * and each witness's newest cosigned checkpoint, fetched (which no rollback of ours can undo).
 * Each is checked against the log's key and the witness's key; anything else is ignored. An
 * unreachable witness is a warning, never damage.
 */
export async function gatherWitnessed(
  o: GatherOptions,
): Promise<{ checkpoints: WitnessedCheckpoint[]; warnings: Warning[] }> {
  const warnings: Warning[] = [];
  const witnesses: NoteVerifier[] = [];
  for (const w of o.witnesses) {
    try {
      witnesses.push(parseVerifierKey(w.key));
    } catch (err) {
      warnings.push({
        kind: 'witness_unreachable',
        detail: `a witness key in the configuration is unusable: ${(err as Error).message}`,
      });
    }
  }
  const out: WitnessedCheckpoint[] = [];
  const origins = new Map(o.channels.map((c) => [channelOrigin(o.logName, o.logId, c), c]));
  // Kept locally: checked, since the file is as writable as the rest of the directory.
  for (const c of readCosignatures(o.layout)) {
    const channel = origins.get(c.origin);
    const w = witnesses.find((v) => v.name === c.witness);
    if (channel === undefined || w === undefined) continue;
    try {
      verifyCosignature(w, checkpointNoteText(c.origin, c.size, c.root), c.line);
      out.push({
        channel,
        size: c.size,
        root: c.root,
        witness: w.name,
        source: 'cosignatures.log',
      });
    } catch {
      // not a valid cosignature: it proves nothing either way
    }
  }
  if (o.online === false) return { checkpoints: latestPerWitness(out), warnings };
  const get = o.fetch ?? fetch;
  await Promise.all(
    o.witnesses.map(async (w, i) => {
      const verifier = witnesses[i];
      if (verifier === undefined) return;
      for (const [origin, channel] of origins) {
        const url = new URL(
          `${originHash(origin)}/checkpoint`,
          w.url.endsWith('/') ? w.url : `${w.url}/`,
        ).href;
        try {
          const res = await get(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
          if (res.status === 404) continue; // it never cosigned this origin
          if (!res.ok) throw new LogsError('WITNESS_STATE_INVALID', `HTTP ${res.status}`);
          const body = await res.text();
          if (body.length > MAX_NOTE_BYTES) throw new LogsError('NOTE_MALFORMED', 'too large');
          const note = openNote(body, [ed25519Verifier(origin, o.publicKey), verifier]);
          const names = new Set(note.verified.map((v) => v.name));
          if (!names.has(origin) || !names.has(verifier.name)) continue;
          const cp = parseCheckpoint(note.text);
          if (cp.origin !== origin) continue;
          out.push({
            channel,
            size: cp.size,
            root: cp.rootHash.toString('hex'),
            witness: verifier.name,
            source: 'witness',
          });
        } catch (err) {
          warnings.push({
            kind: 'witness_unreachable',
            channel,
            detail: `witness ${verifier.name}: its checkpoint of ${origin} could not be read or checked (${(err as Error).message})`,
          });
        }
      }
    }),
  );
  return { checkpoints: latestPerWitness(out), warnings };
}

/** Per channel and witness, the largest size: the one a rollback must not fall below. */
function latestPerWitness(list: readonly WitnessedCheckpoint[]): WitnessedCheckpoint[] {
  const best = new Map<string, WitnessedCheckpoint>();
  for (const w of list) {
    const k = `${w.channel}\0${w.witness}`;
    const b = best.get(k);
    if (b === undefined || w.size > b.size || (w.size === b.size && w.source === 'witness'))
      best.set(k, w);
  }
  return [...best.values()];
}

/**
 * What verify compares with the files, from a configuration: nothing when no witness is
 * configured (or log.json is unreadable: verify reports that itself).
 */
export async function witnessedForVerify(o: {
  readonly layout: LogLayout;
  readonly publicKey: string | undefined;
  readonly logName: string | undefined;
  readonly witnesses: ReadonlyArray<{ readonly url: string; readonly key: string }>;
  readonly online: boolean;
}): Promise<{ witnessed: WitnessedCheckpoint[]; witnessWarnings: Warning[] }> {
  if (o.witnesses.length === 0) return { witnessed: [], witnessWarnings: [] };
  let meta;
  try {
    meta = readMeta(o.layout);
  } catch {
    return { witnessed: [], witnessWarnings: [] };
  }
  const { checkpoints, warnings } = await gatherWitnessed({
    layout: o.layout,
    logId: meta.log_id,
    publicKey: parsePublicKey(o.publicKey ?? meta.public_key),
    logName: o.logName,
    channels: meta.channels,
    witnesses: o.witnesses,
    online: o.online,
  });
  return { witnessed: checkpoints, witnessWarnings: warnings };
}
