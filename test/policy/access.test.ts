import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  POLICY_ROLES,
  PUBLIC_ROUTES,
  REVEALING_ROLES,
  ROLE_DUTIES,
  ROUTE_ACCESS,
} from '../../src/access/roles.js';
import { REVEALING } from '../../src/service/context.js';
import { ROLES } from '../../src/access/tokens.js';
import { testService } from '../service/helpers.js';

test('the policy’s table of who may do what is the one the service enforces, route by route', async () => {
  const s = await testService();
  try {
    const registered = s.app.service.routes;
    const key = (method: string, url: string): string => `${method} ${url}`;
    const guarded = registered
      .filter((r) => !r.public)
      .map((r) => ({ route: key(r.method, r.url), roles: [...(r.roles ?? [])].sort() }))
      .sort((a, b) => a.route.localeCompare(b.route));
    const stated = ROUTE_ACCESS.map((r) => ({
      route: key(r.method, r.url),
      roles: [...r.roles].sort(),
    })).sort((a, b) => a.route.localeCompare(b.route));
    assert.deepEqual(stated, guarded, 'ROUTE_ACCESS (src/policy/access.ts) follows the routes');
    const open = registered
      .filter((r) => r.public)
      .map((r) => key(r.method, r.url))
      .sort();
    assert.deepEqual([...PUBLIC_ROUTES].sort(), open, 'and PUBLIC_ROUTES the routes open to all');
  } finally {
    await s.close();
  }
});

test('the policy’s roles are the service’s, and those that see personal values are the same', () => {
  assert.deepEqual([...POLICY_ROLES], [...ROLES]);
  assert.deepEqual([...REVEALING_ROLES].sort(), [...REVEALING].sort());
  for (const role of POLICY_ROLES) assert.ok(ROLE_DUTIES[role].length > 0);
});
