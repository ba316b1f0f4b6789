import { existsSync } from 'node:fs';
import path from 'node:path';
import { TOKEN_DEFAULT_DAYS, TokenStore, type TokenInfo } from '../access/tokens.js';
import {
  daysBetween,
  type Check,
  type CheckResult,
  type DoctorContext,
  type Finding,
} from './types.js';

/** A token unused this long, or without expiry and older than this, should go (docs/doctor.md). */
export const TOKEN_MAX_IDLE_DAYS = 90;

/** How a token is named in findings: id, role and name; never its secret (the store has none). */
const label = (t: TokenInfo): string => `token ${t.id} (${t.role}, "${t.name}")`;

/** An admin token expiring within this many days warns, unless another admin outlives it. */
export const ADMIN_EXPIRY_WARN_DAYS = 7;

const DAY_MS = 86_400_000;

/**
 * Service tokens: every active token used within TOKEN_MAX_IDLE_DAYS (or, never used, created
 * within them), and none living for ever: a token without expiry older than that fails, a
 * younger one warns. The last admin tokens expiring within ADMIN_EXPIRY_WARN_DAYS warn: past
 * that, nobody can manage the service until a restart makes a new one.
 */
export const tokensCheck: Check = {
  id: 'tokens',
  title: 'service tokens',
  run(ctx: DoctorContext): CheckResult {
    const file = path.join(ctx.layout.keysDir, 'tokens.db');
    // Opening the store creates it: a directory the service never ran on has no token at all.
    if (!existsSync(file))
      return { status: 'ok', summary: 'no token store: no token was ever made', findings: [] };
    const store = TokenStore.open(ctx.layout.keysDir);
    let list: TokenInfo[];
    try {
      list = store.list();
    } finally {
      store.close();
    }
    const active = list.filter(
      (t) =>
        t.revoked === undefined && (t.expires === undefined || Date.parse(t.expires) > ctx.now),
    );
    const fails: Finding[] = [];
    const warns: Finding[] = [];
    for (const t of active) {
      const revoke = `revoke it: dihya-logs token revoke ${t.id} (or DELETE /v1/tokens/${t.id} while the service runs); if it is still needed, replace it instead: dihya-logs token rotate ${t.id}`;
      const age = daysBetween(Date.parse(t.created), ctx.now);
      const lastUsed = t.lastUsed === undefined ? undefined : Date.parse(t.lastUsed);
      const idle = lastUsed === undefined ? age : daysBetween(lastUsed, ctx.now);
      if (idle > TOKEN_MAX_IDLE_DAYS) {
        fails.push({
          what:
            lastUsed === undefined
              ? `${label(t)} was never used since it was made ${age} days ago`
              : `${label(t)} has not been used for ${idle} days (last used ${t.lastUsed ?? '?'})`,
          fix: revoke,
        });
        continue;
      }
      if (t.expires !== undefined) continue;
      if (age > TOKEN_MAX_IDLE_DAYS)
        fails.push({
          what: `${label(t)} never expires and is ${age} days old`,
          fix: revoke,
        });
      else
        warns.push({
          what: `${label(t)} never expires`,
          fix: `replace it within ${TOKEN_MAX_IDLE_DAYS} days of its creation by one with an expiry: dihya-logs token rotate ${t.id} with the service stopped (same role and name, expires in ${TOKEN_DEFAULT_DAYS} days or --expires 90d; this one is revoked), or on the admin page while the service runs`,
        });
    }
    const noExpiry = warns.length;
    warns.push(...expiringAdmins(active, ctx.now));
    const head = `${active.length} active token(s) of ${list.length}`;
    if (fails.length > 0)
      return {
        status: 'fail',
        summary: `${head}: ${fails.length} to revoke`,
        findings: [...fails, ...warns],
      };
    if (warns.length > 0) {
      const parts = [
        ...(noExpiry > 0 ? [`${noExpiry} without expiry`] : []),
        ...(warns.length > noExpiry
          ? [`${warns.length - noExpiry} admin expiring within ${ADMIN_EXPIRY_WARN_DAYS} days`]
          : []),
      ];
      return { status: 'warn', summary: `${head}: ${parts.join(', ')}`, findings: warns };
    }
    if (active.length === 0)
      return { status: 'ok', summary: `${head}: nothing that can be used`, findings: [] };
    return {
      status: 'ok',
      summary: `${head}: each used within ${TOKEN_MAX_IDLE_DAYS} days and with an expiry`,
      findings: [],
    };
  },
};

/**
 * The admin tokens about to expire, when no other admin token lives past the window: an
 * operator who already made a successor is not nagged about the one left to lapse.
 */
function expiringAdmins(active: readonly TokenInfo[], now: number): Finding[] {
  const admins = active.filter((t) => t.role === 'admin');
  const horizon = now + ADMIN_EXPIRY_WARN_DAYS * DAY_MS;
  const ends = (t: TokenInfo): number =>
    t.expires === undefined ? Number.POSITIVE_INFINITY : Date.parse(t.expires);
  if (admins.some((t) => ends(t) > horizon)) return [];
  return admins.map((t) => {
    const days = Math.max(0, Math.ceil((ends(t) - now) / DAY_MS));
    return {
      what: `${label(t)} expires in ${days} day(s), at ${t.expires ?? '?'}, and no other admin token outlives it`,
      fix: `rotate it before then, with the service stopped: dihya-logs token rotate ${t.id} (a new admin token, printed once, then this one revoked); or make another admin token on the admin page while the service runs and revoke this one`,
    };
  });
}
