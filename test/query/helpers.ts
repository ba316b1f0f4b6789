import { Keystore } from '../../src/crypto/keystore.js';
import { LogLayout } from '../../src/store/file/layout.js';
import type { TestLog } from '../helpers.js';
import { forEachStoredLine } from '../search/helpers.js';

export type Rec = Record<string, unknown> & { channel: string; seq: number; ts: string };

/** Every stored record of every channel, read from the files (the ground truth). */
export async function storedRecords(t: TestLog): Promise<Rec[]> {
  const out: Rec[] = [];
  await forEachStoredLine(t, ['app', 'audit', 'security', 'scheduler', 'api'], (bytes) => {
    out.push(JSON.parse(bytes.toString('utf8')) as Rec);
  });
  return out;
}

/** A person's pseudonym, through the keystore (as the query command finds it). */
export function pseudonymOf(t: TestLog, id: string): string {
  const ks = Keystore.openReadOnly(new LogLayout(t.dir).subjectsFile, t.masterKey, t.logId);
  try {
    const p = ks.find(id)?.pseudonym;
    if (p === undefined) throw new Error(`${id} is not in the keystore`);
    return p;
  } finally {
    ks.close();
  }
}

export const key = (r: { channel: string; seq: number }): string => `${r.channel}#${r.seq}`;

/** Words of a message as a person reads them (lower case, letters and digits). */
export function words(msg: unknown): string[] {
  return typeof msg === 'string'
    ? msg
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter(Boolean)
    : [];
}
