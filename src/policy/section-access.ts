import { code, codes, list, paragraph, section, t, table, text, type Section } from './doc.js';
import { docLink, type PolicyContext } from './context.js';
import {
  POLICY_ROLES,
  PUBLIC_ROUTES,
  REVEALING_ROLES,
  ROLE_DUTIES,
  ROUTE_ACCESS,
} from '../access/roles.js';
import { duration } from '../util/units.js';

/** Roles, routes, and access on the machine. */
export function accessSection(ctx: PolicyContext): Section {
  const auth = ctx.config.service.auth;
  return section(
    'Who can read what',
    [
      paragraph(
        t`Through ${code('dihya-logs serve')}, every request needs a bearer token (${code('dl_<id>_<secret>')}) of one role. Tokens are created by an ${code('admin')} token or, on the machine, with ${code('dihya-logs token create')}; each is shown once, stored only as its SHA-256 and compared in constant time, and can expire and be revoked. The admin page signs in with a token and then holds an HttpOnly, SameSite=Strict session cookie. Details: ${docLink(ctx, 'service.md', 'service.md#tokens-and-roles')}.`,
      ),
      table(
        ['role', 'may', 'personal values'],
        POLICY_ROLES.map((role) => [
          t`${code(role)}`,
          text(ROLE_DUTIES[role].join('; ')),
          role === 'ingest'
            ? text('reads nothing')
            : REVEALING_ROLES.includes(role)
              ? text('shown: decrypted with the master key')
              : text('not shown: pseudonyms and placeholders'),
        ]),
      ),
      list([
        t`**Reads are audited**: every answered read is an ${code('audit')} event ${code('log.read')} (token, filter, count, and the pseudonyms of the people whose records it returned: a GDPR export lists it to them), made durable before the answer: if it cannot be written, nothing is read.`,
        t`**Refusals are security events**: no token or a bad one (${code('auth.failure')}, 401), a role not allowed (${code('access.denied')}, 403).`,
        t`**Throttling**: after ${auth.slowAfter} failed authentications from one address within ${duration(auth.windowMs)}, answers slow down; after ${auth.maxFailures}, the address is refused for ${duration(auth.lockoutMs)} (${code('service.auth')}).`,
        t`**On the machine**: the logs directory is readable by its owner only (0700, 0600). Reading records with the command line needs that access; personal values also need the master key, kept outside the directory; ${code('dihya-logs verify')} needs only the public key. Commands that write take the directory's lock.`,
      ]),
    ],
    [routes()],
  );
}

function routes(): Section {
  return section('Routes and roles', [
    table(
      ['route', 'what', 'roles'],
      ROUTE_ACCESS.map((r) => [t`${code(`${r.method} ${r.url}`)}`, text(r.what), codes(r.roles)]),
    ),
    paragraph(
      t`Without a token: ${codes(PUBLIC_ROUTES)} (health, the API description, sign-in, the admin page's files, and each channel's signed checkpoint and Merkle tiles: hashes only, never a record).`,
    ),
  ]);
}

/** How integrity is guaranteed, and how to check it. */
export function integritySection(ctx: PolicyContext): Section {
  const { integrity, scheduler } = ctx.config;
  const verify = scheduler.jobs.verify;
  return section('Integrity', [
    list([
      t`**Hash chain**: each channel is a chain, ${code('hash_n = SHA-256(0x00 || hash_(n-1) || canonical_n)')}, starting from a hash of the log id and the channel: a record changed, removed, inserted or moved breaks it.`,
      t`**Signed checkpoints**: at least every ${duration(integrity.checkpointIntervalMs)} while writing (${code('integrity.checkpoint_interval_ms')}) and on close, each channel's size, chain head and Merkle root are signed with the log's Ed25519 key into a chained checkpoint log.`,
      t`**Merkle proofs**: the chain hashes are the leaves of an RFC 9162 Merkle tree: an inclusion proof shows one record is in the log, a consistency proof that an older checkpoint is a prefix of a newer one (${code('/v1/proofs/inclusion')}, ${code('/v1/proofs/consistency')}).`,
      t`**Sealed archives**: on rotation each segment's range, hashes, size and digest are signed into the segment log; an archive deleted, replaced or planted is detected, and one removed by retention leaves a signed tombstone.`,
      integrity.publicKey === undefined
        ? t`**Public key**: not pinned in the configuration (${code('integrity.public_key')}): ${code('verify')} warns ${code('key_not_pinned')}. Pin it (${code('dihya-logs init')} does) and keep a copy where the logs' administrators cannot change it.`
        : t`**Public key**: pinned in the configuration (${code('integrity.public_key')}): ${code(integrity.publicKey)}. ${code('verify')} refuses a log signed by another key. Keep a copy of it where the logs' administrators cannot change it.`,
    ]),
    paragraph(
      t`To check: ${code('dihya-logs verify')} (exit 0 intact, 1 damaged) recomputes every record, chain, checkpoint signature and archive seal, and names the first bad place: channel, file, line, seq and the kind of damage. ${verify.enabled ? t`The ${code('verify')} job runs it on cron ${code(verify.cron)} (UTC); in ${code('dihya-logs serve')}, damage found raises a ${code('tampering')} alert.` : t`The ${code('verify')} job is disabled: run ${code('dihya-logs verify')} from your own schedule.`} Records written after the last checkpoint are protected by the chain only. Details: ${docLink(ctx, 'integrity.md', 'integrity.md')}.`,
    ),
  ]);
}
