import type { Command } from 'commander';
import {
  ROLES,
  TOKEN_DEFAULT_DAYS,
  TokenStore,
  defaultExpiry,
  isRole,
  parseExpiry,
  type TokenBook,
  type TokenInfo,
} from '../access/tokens.js';
import { LogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { configFor, type Io } from './context.js';
import { openForCli } from './open.js';
import { escapeTerminal } from './terminal.js';

type Made = Awaited<ReturnType<TokenBook['create']>>;

/** `dihya-logs token create|list|revoke|rotate`: the service's tokens (only hashes are kept). */
export function registerToken(program: Command, io: Io): void {
  const token = program
    .command('token')
    .description('service tokens: create (shown once), list, revoke, rotate');
  registerCreate(token, io);
  registerList(token, io);
  registerRevoke(token, io);
  registerRotate(token, io);
}

function registerCreate(token: Command, io: Io): void {
  token
    .command('create')
    .description('make a token for a role; it is printed once, only its hash is kept')
    .requiredOption('--role <role>', ROLES.join(', '))
    .requiredOption('--name <name>', 'who or what it is for (shown in lists and audit events)')
    .option('--expires <when>', 'expiry: 30d, 12h, 90m or an ISO date (default: none)')
    .option('--json', 'print as JSON')
    .action(
      async (
        opts: { role: string; name: string; expires?: string; json?: boolean },
        cmd: Command,
      ) => {
        if (!isRole(opts.role))
          throw new LogsError('USAGE', `--role: expected one of ${ROLES.join(', ')}`);
        const role = opts.role;
        const expires = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
        await withTokens(cmd, 'token create', async (logs, tokens) => {
          const made = await tokens.create(role, opts.name, expires);
          await recordCreated(logs, made, 'created from the command line');
          showMade(io, made, opts.json === true);
        });
      },
    );
}

function registerList(token: Command, io: Io): void {
  token
    .command('list')
    .description('every token: id, role, name, dates (never a secret)')
    .option('--json', 'print as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const show = (list: readonly TokenInfo[]): void =>
        io.out(opts.json === true ? `${JSON.stringify(list, null, 2)}\n` : formatTokens(list));
      const config = configFor(cmd, { postgres: true });
      if (config.store.kind === 'postgres') {
        // The tokens are in the database: opened as the store, no directory to read.
        await withTokens(cmd, 'token list', async (_logs, tokens) => show(await tokens.list()));
        return;
      }
      // The file store's list takes no lock: it reads beside the running service.
      const layout = new LogLayout(config.dir);
      readMeta(layout); // a clear error when this is not a logs directory
      const tokens = TokenStore.open(layout.keysDir);
      try {
        show(tokens.list());
      } finally {
        tokens.close();
      }
    });
}

function registerRevoke(token: Command, io: Io): void {
  token
    .command('revoke')
    .description('revoke a token by id: it stops working at once')
    .argument('<id>', 'the token id (12 hex digits, from token list)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      checkId(id);
      await withTokens(cmd, 'token revoke', async (logs, tokens) => {
        await revocable(tokens, id);
        await revoke(logs, tokens, id, 'revoked from the command line');
        io.out(`token ${id} revoked\n`);
      });
    });
}

function registerRotate(token: Command, io: Io): void {
  token
    .command('rotate')
    .description(
      'replace a token: a new one of the same role and name (printed once), then the old one revoked',
    )
    .argument('<id>', 'the token id (12 hex digits, from token list)')
    .option(
      '--expires <when>',
      `expiry of the new token: 30d, 12h, 90m or an ISO date (default: the old token's lifetime, or ${TOKEN_DEFAULT_DAYS}d when it had none)`,
    )
    .option('--json', 'print as JSON')
    .action(async (id: string, opts: { expires?: string; json?: boolean }, cmd: Command) => {
      checkId(id);
      const chosen = opts.expires === undefined ? undefined : parseExpiry(opts.expires);
      await withTokens(cmd, 'token rotate', async (logs, tokens) => {
        const old = await revocable(tokens, id);
        const made = await tokens.create(old.role, old.name, chosen ?? successorExpiry(old));
        await recordCreated(logs, made, `created from the command line to replace ${id}`, id);
        try {
          await revoke(
            logs,
            tokens,
            id,
            `revoked from the command line, replaced by ${made.info.id}`,
          );
        } catch (err) {
          // The new token exists and is recorded: show it, or nobody could ever use it.
          showMade(io, made, opts.json === true, id);
          io.err(
            `token ${id} may still work: check dihya-logs token list, then dihya-logs token revoke ${id}\n`,
          );
          throw err;
        }
        showMade(io, made, opts.json === true, id);
        if (opts.json !== true) io.err(`token ${id} revoked\n`);
      });
    });
}

/**
 * Open the logs (token changes are audit events) and their tokens, run `fn`, close both. The
 * file store's tokens are a file of the directory, whose lock keeps anyone else from changing
 * them meanwhile: while the service runs this fails with LOGS_LOCKED (use its admin page or
 * /v1/tokens). The PostgreSQL store keeps them in the database, beside the running service:
 * the database orders the changes, and revoke() says when another got there first.
 */
async function withTokens(
  cmd: Command,
  what: string,
  fn: (logs: LogCore, tokens: TokenBook) => Promise<void>,
): Promise<void> {
  const logs = await openForCli(cmd, what);
  try {
    const tokens = logs.tokens ?? TokenStore.open(new LogLayout(logs.dir).keysDir);
    try {
      await fn(logs, tokens);
    } finally {
      await tokens.close(); // the store's own tokens: nothing (the store closes their pool)
    }
  } finally {
    await logs.close();
  }
}

function checkId(id: string): void {
  if (!/^[0-9a-f]{12}$/.test(id)) throw new LogsError('USAGE', 'id: expected 12 hex digits');
}

/** The token `id`, if it can be revoked: NOT_FOUND or TOKEN_ALREADY_REVOKED otherwise. */
async function revocable(tokens: TokenBook, id: string): Promise<TokenInfo> {
  const before = await tokens.get(id);
  if (before === undefined) throw new LogsError('NOT_FOUND', 'no token with that id');
  // Said, not repeated: a second revocation changes nothing, so the audit trail gets no
  // second event.
  if (before.revoked !== undefined) throw alreadyRevoked(id, before.revoked);
  return before;
}

function alreadyRevoked(id: string, when: string): LogsError {
  return new LogsError(
    'TOKEN_ALREADY_REVOKED',
    `token ${id} was already revoked at ${when}; nothing recorded`,
  );
}

async function recordCreated(
  logs: LogCore,
  made: Made,
  how: string,
  replaces?: string,
): Promise<void> {
  const { id, name, role, expires } = made.info;
  await logs.audit({
    event: 'token.created',
    outcome: 'success',
    msg: `token ${id} ${how}`,
    actor: 'cli',
    data: {
      token_id: id,
      name,
      role,
      expires: expires ?? null,
      ...(replaces === undefined ? {} : { replaces }),
    },
  });
}

async function revoke(logs: LogCore, tokens: TokenBook, id: string, how: string): Promise<void> {
  const now = new Date();
  if (!(await tokens.revoke(id, now))) throw new LogsError('NOT_FOUND', 'no token with that id');
  // On a shared database the service (or another command) may have revoked it since
  // revocable() looked: the revocation time says whose it is, and only ours is recorded.
  const after = await tokens.get(id);
  if (after?.revoked !== undefined && after.revoked !== now.toISOString())
    throw alreadyRevoked(id, after.revoked);
  await logs.audit({
    event: 'token.revoked',
    outcome: 'success',
    msg: `token ${id} ${how}`,
    actor: 'cli',
    data: { token_id: id },
  });
}

/** The token on stdout (its only showing), what it is on stderr; or all of it as JSON. */
function showMade(io: Io, made: Made, json: boolean, replaces?: string): void {
  const { id, role, name, expires } = made.info;
  if (json) {
    const extra = replaces === undefined ? {} : { replaces };
    io.out(`${JSON.stringify({ token: made.token, ...made.info, ...extra }, null, 2)}\n`);
    return;
  }
  io.out(`${made.token}\n`);
  io.err(
    `token ${id} (${role}, ${escapeTerminal(name)}) created${expires === undefined ? '' : `, expires ${expires}`}; it is shown once\n`,
  );
}

// A stored lifetime is bounded as parseExpiry bounds a typed one (99999 days): the store is a
// file, and a date past year 275760 would make toISOString throw.
const MAX_LIFE_MS = 99_999 * 86_400_000;

/** The successor lives as long as the token it replaces; TOKEN_DEFAULT_DAYS if that had no end. */
function successorExpiry(old: TokenInfo, now = Date.now()): Date {
  const life =
    old.expires === undefined ? Number.NaN : Date.parse(old.expires) - Date.parse(old.created);
  return Number.isFinite(life) && life > 0 && life <= MAX_LIFE_MS
    ? new Date(now + life)
    : defaultExpiry(now);
}

function formatTokens(list: readonly TokenInfo[]): string {
  if (list.length === 0) return 'no token\n';
  return `${list
    .map((t) =>
      escapeTerminal(
        `${t.id}  ${t.role.padEnd(7)}  ${t.revoked !== undefined ? 'revoked ' : t.expires !== undefined && Date.parse(t.expires) <= Date.now() ? 'expired ' : 'active  '}  ${t.name}  created ${t.created}${t.expires === undefined ? '' : `  expires ${t.expires}`}${t.lastUsed === undefined ? '' : `  last used ${t.lastUsed}`}`,
      ),
    )
    .join('\n')}\n`;
}
