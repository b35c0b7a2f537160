/**
 * `jwks-keeper watch <issuer-or-jwks-url>`: a cache in the foreground, printing its events
 * (refreshes, rotations, failures with the backoff, stale serving, dropped keys) under a live
 * status line (TTY only), or as JSON lines with `--json`. SIGUSR1 refreshes now; SIGINT or
 * SIGTERM stop it (exit 0).
 */
import { createJwksCache } from '../index.js';
import type { JwksCache, JwksEventName, JwksEvents } from '../index.js';
import { discover, DiscoveryError } from './discovery.js';
import type { Io } from './output.js';
import { COMMON_OPTIONS, EXIT, UsageError, duration, intOption, painter, parse, printable, secondsOption, urlArgument } from './output.js';

/** `jwks-keeper watch --help`. */
export const WATCH_HELP = `Usage: jwks-keeper watch <issuer-or-jwks-url> [options]

Keep a jwks-keeper cache running in the foreground and print what it does as it happens:
refreshes (200 or 304), rotations (keys added, removed, replaced), failures with the next
attempt's backoff, stale serving, dropped keys; a live status line on a terminal.
Send SIGUSR1 to refresh at once; Ctrl-C (SIGINT) or SIGTERM stops (exit 0).

Options:
  --issuer | --jwks        Force how the argument is read (as for inspect)
  --once                   Load once, print the key set, exit
  --duration <s>           Stop after this many seconds
  --min-refresh-interval-ms <ms>  Floor of the refresh interval (default 60000)
  --timeout-ms <ms>        Deadline of each request (default 5000)
  --allow-insecure-http    Allow http:// to non-loopback hosts
  --json                   One JSON object per line (events, then a final summary)
  --no-color               No colours
  -h, --help               This help

Exit codes: 0 stopped normally, 1 issuer mismatch, 2 bad arguments,
3 --once and the keys could not be loaded (or discovery failed).
`;

const WATCHED: JwksEventName[] = ['refresh.succeeded', 'refresh.failed', 'keys.changed', 'keys.staleServed', 'key.dropped'];

/** Resolve a target to a JWKS URL (discovery for an issuer). Shared with the sidecar. */
export async function resolveJwksUrl(input: string, mode: { issuer?: boolean; jwks?: boolean; insecure: boolean; timeoutMs: number }): Promise<{ jwksUri: string; issuer?: string }> {
  const u = urlArgument('the issuer or JWKS URL', input, mode.insecure);
  const asIssuer = mode.issuer === true || (!mode.jwks && !/\.json$|jwks|certs/i.test(u.pathname));
  if (!asIssuer) return { jwksUri: u.href };
  const d = await discover(input, { timeoutMs: mode.timeoutMs });
  return { jwksUri: urlArgument('the discovered jwks_uri', d.jwksUri, mode.insecure).href, issuer: d.issuer };
}

function describe<K extends JwksEventName>(name: K, e: JwksEvents[K]): string {
  switch (name) {
    case 'refresh.succeeded': {
      const x = e as JwksEvents['refresh.succeeded'];
      return x.notModified304 ? `revalidated: 304 Not Modified (fresh for ${duration(x.freshForMs)})` : `refreshed (${x.reason}): generation ${x.generation}${x.modified ? '' : ', unchanged'}, fresh for ${duration(x.freshForMs)}, ${Math.round(x.durationMs)} ms`;
    }
    case 'refresh.failed': {
      const x = e as JwksEvents['refresh.failed'];
      return `refresh failed: ${x.code}${x.status ? ` (HTTP ${x.status})` : ''}, ${x.consecutiveFailures} in a row; next attempt in ${duration(x.nextAttemptInMs)}${x.staleForMs ? `; keys stale for ${duration(x.staleForMs)}` : ''}`;
    }
    case 'keys.changed': {
      const x = e as JwksEvents['keys.changed'];
      const list = (kids: string[]) => kids.map((k) => printable(k, 80)).join(', ');
      const parts = [x.added.length ? `added ${list(x.added)}` : '', x.removed.length ? `removed ${list(x.removed)}` : '', x.replaced.length ? `replaced ${list(x.replaced)}` : ''].filter(Boolean);
      return `${x.previousGeneration === 0 ? 'loaded' : 'rotation'}: ${parts.join('; ') || 'no key change'} (generation ${x.previousGeneration} → ${x.generation})`;
    }
    case 'keys.staleServed': {
      const x = e as JwksEvents['keys.staleServed'];
      return `serving stale keys (generation ${x.generation}, stale for ${duration(x.staleForMs)})`;
    }
    case 'key.dropped': {
      const x = e as JwksEvents['key.dropped'];
      return `key #${x.index} ${printable(x.kid ?? '(no kid)', 80)} dropped: ${x.reason}${x.detail ? ` (${printable(x.detail)})` : ''}`;
    }
    default:
      return name;
  }
}

function statusOf(cache: JwksCache): string {
  const s = cache.stats();
  const snap = cache.snapshot();
  const h = cache.health();
  const fresh = snap ? (snap.status === 'fresh' ? `fresh, ${duration(snap.freshUntil - Date.now())} left` : snap.status) : 'not loaded';
  return `${h.state} · generation ${s.generation} · ${s.keyCount} keys · ${fresh} · ${s.fetches} fetches, ${s.notModified} × 304, ${s.failures} failures`;
}

/** Run `watch` until a signal, `--once` or `--duration`; resolves with the exit code. */
export async function watchCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    issuer: { type: 'boolean' },
    jwks: { type: 'boolean' },
    once: { type: 'boolean' },
    duration: { type: 'string' },
    'min-refresh-interval-ms': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'allow-insecure-http': { type: 'boolean' },
  });
  if (values.help) {
    io.out(WATCH_HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'an issuer or JWKS URL is required' : 'exactly one issuer or JWKS URL expected');
  if (values.once && values.duration) throw new UsageError('--once and --duration are exclusive');
  const durationSec = secondsOption('duration', values.duration);
  const timeoutMs = intOption('timeout-ms', values['timeout-ms'], 5_000, 1, 600_000);
  const minRefreshIntervalMs = intOption('min-refresh-interval-ms', values['min-refresh-interval-ms'], 60_000, 0, 3_600_000);
  const insecure = values['allow-insecure-http'] === true;
  const json = values.json === true;
  const p = painter(io.color && !values['no-color']);
  const live = io.tty && !json;
  let status = '';
  const say = (line: string): void => {
    if (live && status) io.out('\r\x1b[2K');
    io.out(`${line}\n`);
    if (live && status) io.out(status);
  };
  const emit = (event: string, data: Record<string, unknown>, text: string): void => {
    if (json) io.out(`${JSON.stringify({ t: new Date().toISOString(), event, ...data })}\n`);
    else say(`${p.dim(new Date().toISOString().slice(11, 19))} ${text}`);
  };

  let target: { jwksUri: string; issuer?: string };
  // SIGUSR1 during discovery is ignored rather than left to Node's default (the inspector)
  const early = (): void => {};
  process.on('SIGUSR1', early);
  try {
    target = await resolveJwksUrl(positionals[0]!, { issuer: values.issuer, jwks: values.jwks, insecure, timeoutMs });
  } catch (err) {
    process.off('SIGUSR1', early);
    if (!(err instanceof DiscoveryError)) throw err;
    emit('discovery.failed', { code: err.code, message: err.message }, p.red(`discovery failed: ${printable(err.message, 600)} (${err.code})`));
    return err.code === 'DISCOVERY_ISSUER_MISMATCH' ? EXIT.FAILED : EXIT.UNAVAILABLE;
  }
  const cache = createJwksCache({ jwksUri: target.jwksUri, timeoutMs, minRefreshIntervalMs, allowInsecureHttp: insecure });
  for (const name of WATCHED) {
    cache.on(name, (e) => {
      const text = describe(name, e);
      const colored = name === 'refresh.failed' ? p.red(text) : name === 'keys.changed' ? p.cyan(text) : name === 'keys.staleServed' || name === 'key.dropped' ? p.yellow(text) : text;
      emit(name, e as unknown as Record<string, unknown>, colored);
    });
  }
  emit('watch.started', { jwksUri: target.jwksUri, issuer: target.issuer }, `${p.bold('watching')} ${target.jwksUri}${target.issuer ? ` (issuer ${target.issuer})` : ''}`);

  let stop!: (reason: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  const onRefresh = () => {
    emit('watch.refresh', {}, 'SIGUSR1: refreshing now');
    void cache.refresh();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('SIGUSR1', onRefresh);
  process.off('SIGUSR1', early);
  // a ref'd timer keeps the process alive (the cache's own timers are unref'd) and redraws the status line
  const ticker = setInterval(() => {
    if (!live) return;
    status = p.dim(statusOf(cache));
    io.out(`\r\x1b[2K${status}`);
  }, 1_000);
  const limit = durationSec !== undefined ? setTimeout(() => stop('duration'), durationSec * 1000) : undefined;
  let code: number = EXIT.OK;
  try {
    const loaded = cache.ready().then(
      async () => {
        const keys = await cache.getSigningKeys();
        emit('watch.ready', { generation: keys[0]?.generation ?? 0, keys: keys.map((k) => ({ kid: k.kid, kty: k.jwk.kty, alg: k.alg, thumbprint: k.thumbprint })) }, `${p.green('ready')}: ${keys.map((k) => printable(k.kid ?? '(no kid)', 80)).join(', ')}`);
        return true;
      },
      (err: unknown) => {
        emit('watch.loadFailed', { code: (err as { code?: string }).code }, p.red(`first load failed: ${(err as { code?: string }).code ?? String(err)}; still retrying`));
        return false;
      },
    );
    if (values.once) {
      code = (await loaded) ? EXIT.OK : EXIT.UNAVAILABLE;
    } else {
      const reason = await stopped;
      await Promise.race([loaded, Promise.resolve()]);
      status = '';
      if (live) io.out('\r\x1b[2K');
      emit('watch.stopped', { reason, stats: cache.stats() }, `stopped (${reason}): ${statusOf(cache)}`);
    }
  } finally {
    clearInterval(ticker);
    if (limit) clearTimeout(limit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGUSR1', onRefresh);
    await cache.close();
  }
  return code;
}
