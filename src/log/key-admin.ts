import type { ChannelKeyring } from '../crypto/body-cipher.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import type { Ack } from '../store/store.js';
import type { CoreAccess } from './core-access.js';

/**
 * Key administration of the open logs: channel key rotation (an audit event), the keystore as
 * a lookup for readers allowed to see personal data, and GDPR key destruction, which needs the
 * acknowledgement of the erasure's durable audit record as its warrant.
 */
export class KeyAdmin {
  // The audit records of GDPR erasures carried out (seq → pseudonyms they name): the only
  // warrant to destroy keys.
  private readonly erasures = new Map<number, ReadonlySet<string>>();
  private keyring: ChannelKeyring | undefined;

  constructor(private readonly core: CoreAccess) {}

  /** Remember a durable `gdpr.erasure` record (status done) as the warrant for its pseudonyms. */
  warrant(ack: Ack, event: EventInput): void {
    const order = erasureOrder(event);
    if (order !== undefined && ack.channel === 'audit') this.erasures.set(ack.seq, order);
  }

  /**
   * Start a new key for each encrypted channel given (all of them by default): records from now
   * on are encrypted under it, older ones stay readable under theirs. Recorded as an audit
   * event. Returns the channels and their new key ids.
   */
  async rotateChannelKeys(
    channels?: readonly string[],
    actor?: EventInput['actor'],
  ): Promise<Array<{ channel: string; key: number }>> {
    const encrypted = Object.keys(this.core.config.channels).filter(
      (c) => this.core.config.channels[c]?.encrypt === true,
    );
    const wanted = channels ?? encrypted;
    for (const c of wanted) {
      this.core.assertChannel(c);
      if (!encrypted.includes(c)) {
        throw new LogsError(
          'USAGE',
          `channel ${c} is not encrypted (set channels.${c}.encrypt: true in the configuration)`,
        );
      }
    }
    const rotated: Array<{ channel: string; key: number }> = [];
    for (const c of wanted) {
      const key = this.core.store.keys.rotateChannelKey(c);
      this.keyring = undefined;
      this.core.store.setChannelKey(c, key);
      this.core.addIndexKey(c, key);
      rotated.push({ channel: c, key: key.id });
    }
    if (rotated.length === 0) return rotated;
    await this.core.audit({
      event: 'keys.rotated',
      outcome: 'success',
      msg: `new channel keys: ${rotated.map((r) => `${r.channel} #${r.key}`).join(', ')}`,
      ...(actor === undefined ? {} : { actor }),
      data: { channels: rotated },
    });
    return rotated;
  }

  /** The writer's keystore as a lookup: pseudonym → id and key (reveal, for allowed readers). */
  subjectLookup(): SubjectLookup {
    return this.core.store.keys;
  }

  /** The keys of the encrypted channels, to read their records (query, export). */
  channelKeyring(): ChannelKeyring {
    // Unwrapped once (a keystore read and an AES-GCM unwrap per key): the service asks on every
    // query and every tail poll. Only rotateChannelKeys() changes them, in this process.
    this.keyring ??= this.core.store.keys.channelKeyring();
    return this.keyring;
  }

  /** A person's pseudonym, if the keystore knows them (never creates one). */
  pseudonymOf(id: string): string | undefined {
    return this.core.store.keys.find(id)?.pseudonym;
  }

  /**
   * Destroy people's keys and id mappings (GDPR erasure, see `gdpr/erase.ts`), then compact the
   * keystore so no copy of a key remains. Resolves with how many were erased. The warrant is the ack
   * of the erasure's audit record (`gdpr.erasure`, status `done`, naming these pseudonyms),
   * recorded durably by `recordRequest` of this same open: no key is destroyed unrecorded.
   */
  async destroySubjectKeys(erasure: Ack, pseudonyms: readonly string[]): Promise<number> {
    const named = erasure.channel === 'audit' ? this.erasures.get(erasure.seq) : undefined;
    if (named === undefined || !pseudonyms.every((p) => named.has(p)))
      throw new LogsError(
        'INTERNAL',
        'destroySubjectKeys needs the ack of the gdpr.erasure record (status done) naming these pseudonyms',
      );
    return this.core.store.keys.destroy(pseudonyms);
  }
}

/** The pseudonyms a `gdpr.erasure` record with status `done` orders erased; else undefined. */
function erasureOrder(event: EventInput): ReadonlySet<string> | undefined {
  if (event.event !== 'gdpr.erasure') return undefined;
  const data = event.data as { status?: unknown; pseudonyms?: unknown } | undefined;
  if (data?.status !== 'done' || !Array.isArray(data.pseudonyms)) return undefined;
  return new Set(data.pseudonyms.filter((p): p is string => typeof p === 'string'));
}
