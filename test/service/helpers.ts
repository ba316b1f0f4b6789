import { LogLayout } from '../../src/store/file/layout.js';
import type { LogCore } from '../../src/log/core.js';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type ServiceApp } from '../../src/service/app.js';
import { TokenStore, type Role } from '../../src/access/tokens.js';
import type { ServiceConfig } from '../../src/config/resolve.js';
import { newLog, openedRecords, type TestLog } from '../helpers.js';

export interface TestService {
  readonly t: TestLog;
  readonly logs: LogCore;
  readonly app: ServiceApp;
  readonly tokens: TokenStore;
  /** A valid token of each role. */
  readonly token: Record<Role, string>;
  /** `Authorization` header for a role. */
  auth(role: Role): { authorization: string };
  /** Records of a channel file, encrypted ones opened. */
  records(channel: string): Array<Record<string, unknown>>;
  /** `POST /v1/events` with an ingest token and a JSON body. */
  ingest(payload: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A logs directory, open, with the service built on it and a token of every role. */
export async function testService(
  overrides: Partial<Omit<ServiceConfig, 'auth'>> & { auth?: Partial<ServiceConfig['auth']> } = {},
  settings: Record<string, unknown> = {},
): Promise<TestService> {
  const t = newLog();
  const logs = await t.open({ settings });
  const tokens = TokenStore.open(new LogLayout(t.dir).keysDir);
  const base = logs.config.service;
  const app = await buildApp({
    logs,
    tokens,
    masterKey: t.masterKey,
    config: { ...base, ...overrides, auth: { ...base.auth, ...overrides.auth } },
  });
  const token = {} as Record<Role, string>;
  for (const role of ['ingest', 'auditor', 'dpo', 'admin'] as const)
    token[role] = tokens.create(role, `test ${role}`).token;
  return {
    t,
    logs,
    app,
    tokens,
    token,
    auth: (role) => ({ authorization: `Bearer ${token[role]}` }),
    records: (channel) => openedRecords(t, `${channel}.log`),
    ingest: (payload) =>
      app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { authorization: `Bearer ${token.ingest}`, 'content-type': 'application/json' },
        payload: payload as Record<string, unknown>,
      }),
    close: async () => {
      await app.close();
      tokens.close();
      await logs.close();
    },
  };
}
