import { isIP } from 'node:net';
import type { Check, CheckResult, DoctorContext } from './types.js';

/** 127.0.0.0/8, ::1 (and IPv4-mapped loopback), `localhost`: this machine only. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped !== null && (mapped[1] ?? '').startsWith('127.');
  }
  return false;
}

/** Every address of the machine: the service answers on all its interfaces. */
function isAny(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return h === '' || h === '0.0.0.0' || h === '::' || h === '0:0:0:0:0:0:0:0';
}

/**
 * The service speaks plain HTTP (it has no TLS of its own): it must listen on loopback only,
 * or sit behind a reverse proxy that terminates TLS (declared by `service.trust_proxy: true`).
 */
export const serviceCheck: Check = {
  id: 'service',
  title: 'service address',
  run(ctx: DoctorContext): CheckResult {
    const { host, port, trustProxy } = ctx.config.service;
    const file = ctx.config.source ?? 'dihya-logs.yaml';
    const where = `service.host ${host}, port ${port}`;
    if (isLoopback(host))
      return { status: 'ok', summary: `${where}: this machine only`, findings: [] };
    const reach = isAny(host) ? 'every address of this machine' : `${host}, not loopback`;
    if (trustProxy)
      return {
        status: 'ok',
        summary: `${where} (${reach}) behind a proxy (service.trust_proxy: true): make sure the proxy terminates TLS and is the only way to that port`,
        findings: [],
      };
    return {
      status: 'fail',
      summary: `${where}: plain HTTP on ${reach}, no TLS in front`,
      findings: [
        {
          what: `the service listens on ${host} (${reach}) without TLS: tokens, session cookies and personal data cross the network in clear`,
          fix: `set service.host: 127.0.0.1 in ${file}; to serve other machines, put a reverse proxy terminating TLS in front (nginx, Caddy) on this machine and set service.trust_proxy: true`,
        },
      ],
    };
  },
};
