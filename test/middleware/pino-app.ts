import pino from 'pino';

// An application that logs through dihya-logs/pino in url mode, run as a child process so that
// the test reads what the process as a whole prints on stderr (the transport's worker thread
// included) and sees it end as an application ends: `exit` calls process.exit (pino ends the
// transport from its exit hook), `end` ends the transport, then lets the process run out.
// Arguments: target url token count end waitMs [options as JSON].

const [target, url, token, count, how, wait, extra] = process.argv.slice(2);
const transport = pino.transport({
  target: String(target),
  options: {
    url,
    token,
    flushIntervalMs: 20,
    retryMinMs: 10,
    closeTimeoutMs: 1000,
    ...(extra === undefined ? {} : (JSON.parse(extra) as object)),
  },
});
const logger = pino(transport);
for (let n = 0; n < Number(count); n++) logger.info({ marker: 'do-not-echo' }, `event ${n}`);
setTimeout(() => {
  if (how === 'exit') process.exit(0);
  transport.end();
}, Number(wait));
