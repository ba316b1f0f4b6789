import type { Command } from 'commander';
import { ROLES, TokenStore, isRole, parseExpiry, type TokenInfo } from '../access/tokens.js';
import { LogsError } from '../errors.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { configFor, type Io } from './context.js';
import { openForCli } from './open.js';
import { escapeTerminal } from './terminal.js';

/** `dihya-logs token create|list|revoke`: the service's tokens (only their hashes are kept). */
export function registerToken(program: Command, io: Io): void {
  const token = program
    .command('token')
    .description('service tokens: create (shown once), list, revoke');
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
        // Recorded as an audit event: that writes to the log, so it takes the directory's lock
        // (while the service runs, use its admin page or POST /v1/tokens).
        const logs = await openForCli(cmd, 'token create');
        const tokens = TokenStore.open(new LogLayout(logs.dir).keysDir);
        try {
          const made = tokens.create(role, opts.name, expires);
          await logs.audit({
            event: 'token.created',
            outcome: 'success',
            msg: `token ${made.info.id} created from the command line`,
            actor: 'cli',
            data: {
              token_id: made.info.id,
              name: made.info.name,
              role,
              expires: made.info.expires ?? null,
            },
          });
          if (opts.json === true)
            io.out(`${JSON.stringify({ token: made.token, ...made.info }, null, 2)}\n`);
          else {
            io.out(`${made.token}\n`);
            io.err(
              `token ${made.info.id} (${role}, ${escapeTerminal(made.info.name)}) created; it is shown once\n`,
            );
          }
        } finally {
          tokens.close();
          await logs.close();
        }
      },
    );
  token
    .command('list')
    .description('every token: id, role, name, dates (never a secret)')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const layout = new LogLayout(configFor(cmd).dir);
      readMeta(layout); // a clear error when this is not a logs directory
      const tokens = TokenStore.open(layout.keysDir);
      try {
        const list = tokens.list();
        io.out(opts.json === true ? `${JSON.stringify(list, null, 2)}\n` : formatTokens(list));
      } finally {
        tokens.close();
      }
    });
  token
    .command('revoke')
    .description('revoke a token by id: it stops working at once')
    .argument('<id>', 'the token id (12 hex digits, from token list)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      if (!/^[0-9a-f]{12}$/.test(id)) throw new LogsError('USAGE', 'id: expected 12 hex digits');
      const logs = await openForCli(cmd, 'token revoke');
      const tokens = TokenStore.open(new LogLayout(logs.dir).keysDir);
      try {
        const before = tokens.get(id);
        if (before === undefined) throw new LogsError('NOT_FOUND', 'no token with that id');
        // Said, not repeated: a second revocation changes nothing, so the audit trail gets no
        // second event (we hold the directory's lock, so nobody revokes it meanwhile).
        if (before.revoked !== undefined)
          throw new LogsError(
            'TOKEN_ALREADY_REVOKED',
            `token ${id} was already revoked at ${before.revoked}; nothing recorded`,
          );
        if (!tokens.revoke(id)) throw new LogsError('NOT_FOUND', 'no token with that id');
        await logs.audit({
          event: 'token.revoked',
          outcome: 'success',
          msg: `token ${id} revoked from the command line`,
          actor: 'cli',
          data: { token_id: id },
        });
        io.out(`token ${id} revoked\n`);
      } finally {
        tokens.close();
        await logs.close();
      }
    });
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
