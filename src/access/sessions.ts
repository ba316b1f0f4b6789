import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from './principal.js';

/** A signed-in browser: who (a token), its CSRF secret, and until when. */
export interface Session {
  readonly id: string;
  readonly principal: Principal;
  /** Sent back in `X-CSRF-Token` on every state-changing call. */
  readonly csrf: string;
  readonly created: number;
  lastSeen: number;
}

export const SESSION_COOKIE = 'dihya_session';
const IDLE_MS = 30 * 60_000;
const MAX_AGE_MS = 12 * 3_600_000;
const MAX_SESSIONS = 10_000;

/**
 * Sessions of the admin page, in memory (a restart signs everyone out, which is the safe way
 * round). The cookie holds a random 256-bit id, HttpOnly and SameSite=Strict; the session ends
 * after 30 minutes idle or 12 hours, on sign-out, or when its token is revoked.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(private readonly clock: () => number) {}

  create(principal: Principal): Session {
    const now = this.clock();
    this.sweep(now);
    if (this.byId.size >= MAX_SESSIONS) {
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) this.byId.delete(oldest);
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      principal,
      csrf: randomBytes(32).toString('base64url'),
      created: now,
      lastSeen: now,
    };
    this.byId.set(session.id, session);
    return session;
  }

  /** The live session of a cookie value (its idle timer restarts), or undefined. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || id.length !== 43) return undefined;
    const s = this.byId.get(id);
    if (s === undefined) return undefined;
    const now = this.clock();
    if (now - s.lastSeen > IDLE_MS || now - s.created > MAX_AGE_MS) {
      this.byId.delete(id);
      return undefined;
    }
    s.lastSeen = now;
    return s;
  }

  /** Whether a CSRF header matches the session's secret (constant time). */
  csrfMatches(s: Session, header: unknown): boolean {
    if (typeof header !== 'string' || header.length !== s.csrf.length) return false;
    return timingSafeEqual(Buffer.from(header), Buffer.from(s.csrf));
  }

  end(id: string | undefined): void {
    if (id !== undefined) this.byId.delete(id);
  }

  /** End every session of a token (it was revoked). */
  endToken(tokenId: string): void {
    for (const [id, s] of this.byId) if (s.principal.tokenId === tokenId) this.byId.delete(id);
  }

  /** Seconds a new session's cookie lives. */
  static get maxAgeSeconds(): number {
    return MAX_AGE_MS / 1000;
  }

  private sweep(now: number): void {
    for (const [id, s] of this.byId) {
      if (now - s.lastSeen > IDLE_MS || now - s.created > MAX_AGE_MS) this.byId.delete(id);
    }
  }
}
