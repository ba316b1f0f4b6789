import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import {
  shellArg,
  type Check,
  type CheckResult,
  type DoctorContext,
  type Finding,
} from './types.js';

/** Past this many bad paths, one finding stands for the rest (with a recursive fix). */
const MAX_PATH_FINDINGS = 20;

/** The user doctor runs as: the one who must own the logs (the service runs as it too). */
function currentUser(): { uid: number | undefined; name: string } {
  const uid = process.getuid?.();
  let name = uid === undefined ? 'the service user' : String(uid);
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid): the number will do
  }
  return { uid, name };
}

const modeText = (st: Stats): string => (st.mode & 0o777).toString(8).padStart(4, '0');

/**
 * Every directory under the logs directory 0700 and every file 0600 (no bit for group or
 * others), owned by the user doctor runs as; no links and no special files in it; the
 * configuration file writable by its owner only.
 */
export const permissionsCheck: Check = {
  id: 'permissions',
  title: 'file and directory permissions',
  run(ctx: DoctorContext): CheckResult {
    const user = currentUser();
    const fails: Finding[] = [];
    const warns: Finding[] = [];
    // Walk the real directory: a logs directory reached through a link is fine, links inside
    // it are not (a reader following one would read or write somewhere else).
    const root = realpathSync(ctx.layout.dir);
    const rel = (p: string): string => path.relative(root, p) || '.';
    const shown = (p: string): string => (p === root ? ctx.layout.dir : p);
    let paths = 0;
    let bad = 0;
    const report = (f: Finding): void => {
      bad += 1;
      if (fails.length < MAX_PATH_FINDINGS) fails.push(f);
    };
    // A file may go while we look (a temporary file, a SQLite journal): skip it. One we may not
    // read is a finding: doctor would miss what is inside.
    const look = <T>(p: string, fn: () => T): T | undefined => {
      try {
        return fn();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT')
          report({
            what: `${rel(p)} cannot be read (${code ?? 'error'})`,
            fix: `chown ${shellArg(user.name)} ${shellArg(shown(p))}, then run doctor again`,
          });
        return undefined;
      }
    };
    const stack = [root];
    for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
      const d = dir;
      const st = look(d, () => lstatSync(d));
      if (st === undefined) continue;
      checkEntry(d, st, true);
      for (const name of look(d, () => readdirSync(d).sort()) ?? []) {
        const p = path.join(d, name);
        const entry = look(p, () => lstatSync(p));
        if (entry?.isDirectory() === true) stack.push(p);
        else if (entry !== undefined) checkEntry(p, entry, false);
      }
    }
    function checkEntry(p: string, st: Stats, isDir: boolean): void {
      paths += 1;
      if (st.isSymbolicLink()) {
        let target = '?';
        try {
          target = readlinkSync(p);
        } catch {
          // gone meanwhile: still worth naming
        }
        report({
          what: `${rel(p)} is a symbolic link (to ${target}): a logs directory holds no links`,
          fix: `replace it by the file itself, or remove it: rm ${shellArg(p)}`,
        });
        return;
      }
      if (!isDir && !st.isFile()) {
        report({
          what: `${rel(p)} is not a regular file or a directory`,
          fix: `remove it: rm ${shellArg(p)}`,
        });
        return;
      }
      if ((st.mode & 0o077) !== 0) {
        const want = isDir ? '700' : '600';
        report({
          what: `${rel(p)} is mode ${modeText(st)}: ${isDir ? 'a directory' : 'a file'} must be ${want === '700' ? '0700' : '0600'} (nothing for group or others)`,
          fix: `chmod ${want} ${shellArg(shown(p))}`,
        });
      }
      if (user.uid !== undefined && st.uid !== user.uid) {
        report({
          what: `${rel(p)} belongs to uid ${st.uid}, not to ${user.name} (uid ${user.uid}) who runs dihya-logs`,
          fix: `chown ${shellArg(user.name)} ${shellArg(shown(p))}`,
        });
      }
    }
    if (bad > fails.length) {
      fails.push({
        what: `and ${bad - fails.length} more path(s) like these`,
        fix: `chmod -R go-rwx ${shellArg(ctx.layout.dir)}${user.uid === undefined ? '' : ` && chown -R ${shellArg(user.name)} ${shellArg(ctx.layout.dir)}`}`,
      });
    }
    const configNote = checkConfigFile(ctx.config.source, user, fails, warns);
    const status = fails.length > 0 ? 'fail' : warns.length > 0 ? 'warn' : 'ok';
    const summary =
      bad === 0
        ? `${paths} path(s) under ${ctx.layout.dir}: directories 0700, files 0600, owned by ${user.name}; ${configNote}`
        : `${bad} of ${paths} path(s) under ${ctx.layout.dir} are open to others, owned by someone else, or links; ${configNote}`;
    return { status, summary, findings: [...fails, ...warns] };
  },
};

/** The configuration decides what is kept and where: nobody but its owner may change it. */
function checkConfigFile(
  source: string | undefined,
  user: { uid: number | undefined; name: string },
  fails: Finding[],
  warns: Finding[],
): string {
  if (source === undefined) return 'no configuration file (the defaults apply)';
  const real = realpathSync(source);
  const st = statSync(real);
  const where = real === source ? source : `${source} (a link to ${real})`;
  if ((st.mode & 0o002) !== 0)
    fails.push({
      what: `the configuration file ${where} is writable by others (mode ${modeText(st)})`,
      fix: `chmod go-w ${shellArg(real)}`,
    });
  else if ((st.mode & 0o020) !== 0)
    warns.push({
      what: `the configuration file ${where} is writable by its group (mode ${modeText(st)})`,
      fix: `chmod g-w ${shellArg(real)}`,
    });
  if (user.uid !== undefined && st.uid !== user.uid && st.uid !== 0)
    warns.push({
      what: `the configuration file ${where} belongs to uid ${st.uid}: that user can change what is kept and where`,
      fix: `chown ${shellArg(user.name)} ${shellArg(real)}`,
    });
  return `configuration ${source} mode ${modeText(st)}`;
}
