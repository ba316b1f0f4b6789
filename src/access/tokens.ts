import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import { writeFileDurable } from '../util/fs.js';

/** What each role may do (see docs/service.md). */
export const ROLES = ['ingest', 'auditor', 'dpo', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

/** A token as listed: never its secret, never its hash. */
export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly created: string;
  readonly expires: string | undefined;
  readonly lastUsed: string | undefined;
  readonly revoked: string | undefined;
}

/** A token's stored row (the file store's SQLite table; PostgreSQL's `dl_tokens` alike). */
export interface TokenRow {
  id: string;
  name: string;
  role: string;
  hash: Buffer;
  created: string;
  expires: string | null;
  last_used: string | null;
  revoked: string | null;
}

/**
 * Days a token lives when nobody chose: the service's first admin token, and a rotated token
 * that had no expiry. Long enough not to lock anyone out in the first weeks, short enough that
 * a forgotten bootstrap token does not outlive its setup.
 */
export const TOKEN_DEFAULT_DAYS = 30;
const DAY_MS = 86_400_000;

/** `now` plus TOKEN_DEFAULT_DAYS. */
export function defaultExpiry(now = Date.now()): Date {
  return new Date(now + TOKEN_DEFAULT_DAYS * DAY_MS);
}

/** A value, or a promise of it: the file store answers at once, a database later. */
export type Awaitable<T> = T | Promise<T>;

/**
 * The service's tokens, wherever they are kept: a file of the logs directory (TokenStore), or
 * the database of a PostgreSQL store (every instance sees the same). Same rules in both: the
 * secret is shown once, only its digest is kept, checks are constant-time, changes are durable
 * before they are answered.
 */
export interface TokenBook {
  /** Make a token; returns its text, shown once, and its listing. */
  create(
    role: Role,
    name: string,
    expiresAt?: Date,
    now?: Date,
  ): Awaitable<{ token: string; info: TokenInfo }>;
  /** The token a bearer text names, if valid now; undefined for anything else (no hint). */
  check(text: string, now?: number): Awaitable<TokenInfo | undefined>;
  get(id: string): Awaitable<TokenInfo | undefined>;
  list(): Awaitable<TokenInfo[]>;
  /** Revoke a token (it stays listed, marked revoked). False when there is no such token. */
  revoke(id: string, now?: Date): Awaitable<boolean>;
  /** Tokens that can still be used (of a role, or all). */
  activeCount(role?: Role): Awaitable<number>;
  /**
   * Make a token of `role` unless one that can still be used exists (the service's first admin
   * token): undefined when there is one. Instances sharing the tokens make one between them.
   */
  createFirst(
    role: Role,
    name: string,
    expiresAt?: Date,
  ): Awaitable<{ token: string; info: TokenInfo } | undefined>;
  close(): Awaitable<void>;
}

/** A new token's parts: its public id, its secret (shown once), the digest kept, its name. */
export interface MintedToken {
  readonly id: string;
  readonly secret: string;
  readonly hash: Buffer;
  readonly name: string;
  /** The bearer text: `dl_<id>_<secret>`. */
  readonly token: string;
}

/** Make a token's parts, the role and name checked (USAGE when either is not allowed). */
export function mintToken(role: Role, name: string): MintedToken {
  if (!isRole(role)) throw new LogsError('USAGE', `role: expected one of ${ROLES.join(', ')}`);
  const clean = name.trim();
  if (clean === '' || clean.length > 100 || !/^[\p{L}\p{N} ._@:-]+$/u.test(clean))
    throw new LogsError(
      'USAGE',
      'name: 1-100 letters, digits, spaces and . _ @ : - (it names the token in lists and audit events)',
    );
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, hash: digest(secret), name: clean, token: `dl_${id}_${secret}` };
}

/** The public id a bearer text names, or undefined when it is not of a token's form. */
export function tokenIdOf(text: string): string | undefined {
  return TOKEN_FORM.exec(text)?.[1];
}

/**
 * Whether a bearer text is the token of a stored row (its digest, revocation and expiry), valid
 * at `now`. The digest is compared in constant time, against a dummy when there is no row, so
 * the time taken says nothing of which part was wrong.
 */
export function tokenMatches(
  text: string,
  hash: Buffer | undefined,
  revoked: string | null,
  expires: string | null,
  now: number,
): boolean {
  const m = TOKEN_FORM.exec(text);
  const same = timingSafeEqual(digest(m?.[2] ?? text), hash?.length === 32 ? hash : DUMMY);
  if (m === null || hash === undefined || !same || revoked !== null) return false;
  return expires === null || Date.parse(expires) > now;
}

/**
 * When a checked token's last use is written: at most once a minute per token, so a check is a
 * read on every request and a write only now and then. One per token book (per process).
 */
export class TokenTouches {
  private readonly last = new Map<string, number>();

  /** Whether the use of token `id` at `now` is to be written; if so, it counts as written. */
  due(id: string, now: number): boolean {
    if (now - (this.last.get(id) ?? 0) <= TOUCH_MS) return false;
    this.last.set(id, now);
    return true;
  }
}

// `dl_` + 12 hex (the public id, to find the row) + `_` + 43 base64url (256 random bits).
const TOKEN_FORM = /^dl_([0-9a-f]{12})_([\w-]{43})$/;
// last_used is written at most this often per token: a read on every request, not a write.
const TOUCH_MS = 60_000;

/**
 * Bearer tokens of the service (`.keys/tokens.db`, SQLite, 0600). A token is shown once, when
 * it is created; the store keeps the SHA-256 of its secret (256 random bits: no password
 * hashing needed) and compares in constant time. The token's id is public (it names the token
 * in lists and in audit events); its secret never leaves the request that carries it.
 */
export class TokenStore implements TokenBook {
  private readonly db: Database.Database;
  private readonly touched = new TokenTouches();

  private constructor(file: string) {
    if (!existsSync(file)) writeFileDurable(file, '', { exclusive: true }); // mode 0600
    this.db = new Database(file, { fileMustExist: true });
    this.db.pragma('journal_mode = WAL');
    // Every change is synced before it is answered: a token created or revoked must survive a
    // power loss, as the audit record that says so does. Set explicitly: better-sqlite3's
    // SQLite turns a WAL database to synchronous=NORMAL (commits not synced) by default.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS tokens (
         id TEXT PRIMARY KEY,
         name TEXT NOT NULL,
         role TEXT NOT NULL,
         hash BLOB NOT NULL,
         created TEXT NOT NULL,
         expires TEXT,
         last_used TEXT,
         revoked TEXT
       ) WITHOUT ROWID`,
    );
  }

  /** The token store of a logs directory (`<dir>/.keys/tokens.db`), created when missing. */
  static open(keysDir: string): TokenStore {
    return new TokenStore(path.join(keysDir, 'tokens.db'));
  }

  /** Make a token; returns its text, shown once, and its listing. */
  create(
    role: Role,
    name: string,
    expiresAt?: Date,
    now = new Date(),
  ): { token: string; info: TokenInfo } {
    const minted = mintToken(role, name);
    const { id, hash, name: clean } = minted;
    this.db
      .prepare(
        'INSERT INTO tokens (id, name, role, hash, created, expires) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, clean, role, hash, now.toISOString(), expiresAt?.toISOString() ?? null);
    return { token: minted.token, info: this.get(id) as TokenInfo };
  }

  /**
   * The token a bearer text names, if it is valid now: known, not revoked, not expired, and its
   * secret matches (constant-time). Undefined for anything else, with no hint of which.
   */
  check(text: string, now = Date.now()): TokenInfo | undefined {
    const id = tokenIdOf(text);
    const row =
      id === undefined
        ? undefined
        : this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?').get(id);
    if (!tokenMatches(text, row?.hash, row?.revoked ?? null, row?.expires ?? null, now))
      return undefined;
    if (row === undefined) return undefined;
    if (this.touched.due(row.id, now))
      this.db
        .prepare('UPDATE tokens SET last_used = ? WHERE id = ?')
        .run(new Date(now).toISOString(), row.id);
    return tokenInfo(row);
  }

  get(id: string): TokenInfo | undefined {
    const row = this.db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE id = ?').get(id);
    return row === undefined ? undefined : tokenInfo(row);
  }

  list(): TokenInfo[] {
    return this.db
      .prepare<[], TokenRow>('SELECT * FROM tokens ORDER BY created, id')
      .all()
      .map(tokenInfo);
  }

  /** Revoke a token (it stays listed, marked revoked). False when there is no such token. */
  revoke(id: string, now = new Date()): boolean {
    return (
      this.db
        .prepare('UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL')
        .run(now.toISOString(), id).changes > 0 || this.get(id) !== undefined
    );
  }

  /** Tokens that can still be used. */
  activeCount(role?: Role): number {
    const now = new Date().toISOString();
    const row = this.db
      .prepare<[string, string | null, string | null], { n: number }>(
        `SELECT count(*) AS n FROM tokens WHERE revoked IS NULL AND (expires IS NULL OR expires > ?)
           AND (? IS NULL OR role = ?)`,
      )
      .get(now, role ?? null, role ?? null);
    return row?.n ?? 0;
  }

  createFirst(
    role: Role,
    name: string,
    expiresAt?: Date,
  ): { token: string; info: TokenInfo } | undefined {
    // One process owns the logs directory: nobody else makes one meanwhile.
    return this.activeCount(role) === 0 ? this.create(role, name, expiresAt) : undefined;
  }

  /** The connection's sync mode (`full`: each change is on disk before it is answered). */
  syncMode(): string {
    const mode = this.db.pragma('synchronous', { simple: true }) as number;
    return ['off', 'normal', 'full', 'extra'][mode] ?? String(mode);
  }

  close(): void {
    this.db.close();
  }
}

const DUMMY = Buffer.alloc(32);

function digest(secret: string): Buffer {
  return createHash('sha256').update(`dihya-logs/token/v1\0${secret}`).digest();
}

/** A stored row as listed: never its hash. */
export function tokenInfo(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    role: isRole(row.role) ? row.role : 'ingest',
    created: row.created,
    expires: row.expires ?? undefined,
    lastUsed: row.last_used ?? undefined,
    revoked: row.revoked ?? undefined,
  };
}

/** `30d`, `12h`, `90m` or an ISO date → the expiry time. */
export function parseExpiry(text: string, now = Date.now()): Date {
  const m = /^(\d{1,5})([dhm])$/.exec(text.trim());
  if (m !== null) {
    const n = Number(m[1]);
    const unit = m[2] === 'd' ? DAY_MS : m[2] === 'h' ? 3_600_000 : 60_000;
    return new Date(now + n * unit);
  }
  const t = Date.parse(text);
  if (!Number.isFinite(t) || t <= now)
    throw new LogsError('USAGE', '--expires: expected 30d, 12h, 90m or a future ISO date');
  return new Date(t);
}
