/**
 * `jwks-keeper serve`: run the sidecar from flags or a JSON config file until SIGTERM/SIGINT
 * (graceful drain, exit 0). SIGUSR1 refreshes every issuer now.
 */
import { readFileSync } from 'node:fs';
import type { Io } from '../cli/output.js';
import { COMMON_OPTIONS, EXIT, UsageError, intOption, parse } from '../cli/output.js';
import { DiscoveryError } from '../cli/discovery.js';
import type { SidecarConfig, SidecarIssuer } from './config.js';
import { SidecarConfigError, validateConfig } from './config.js';
import { createSidecar } from './server.js';

/** `jwks-keeper serve --help`. */
export const SERVE_HELP = `Usage: jwks-keeper serve (--config <file> | --issuer <iss> [options])

Run the sidecar: keeps each configured issuer's keys fresh and serves
  GET  /issuers/<name>/jwks.json   local JWKS mirror (ETag, Cache-Control, 304)
  POST /verify                     token in Authorization: Bearer or {"token": "..."} → claims, 401 or 503
  GET  /events                     Server-Sent Events: keys.changed, key.firstUsed, refresh.failed,
                                   keys.staleServed (Last-Event-ID resume)
  GET  /healthz, /readyz, /metrics, /issuers
Logs are JSON lines on stdout. SIGTERM or SIGINT: drain and exit 0. SIGUSR1: refresh now.

Options:
  --config <file>          JSON config: {"issuers": [{"name", "issuer", "jwksUri"?, "audience"?}], ...}
                           (see docs/operations.md); flags below override host, port, fleet
  --issuer <iss>           A single issuer (instead of --config)
  --name <name>            Its name in URLs (default "default")
  --audience <aud>         Accepted audience for /verify (repeatable; default: mirror only)
  --jwks-url <url>         Its JWKS URL (default: discovery)
  --host <addr>            Bind address (default 127.0.0.1)
  --port <n>               Port (default 8787; 0 picks one, logged)
  --webhook <url>          POST signed events to this URL (repeatable)
  --webhook-secret-env <VAR>  Environment variable holding the webhooks' HMAC secret
  --fleet-url <url>        Fleet mode: share keys, refresh lock and budget with other instances
                           through this Redis (redis:// or rediss://; needs the redis package)
  --fleet-secret-env <VAR> Environment variable holding the fleet's record HMAC key (≥ 32 bytes)
  --fleet-key-prefix <p>   Redis key prefix (default "jwks-keeper:")
  --min-refresh-interval-ms <ms>  Refresh floor for flag-configured issuers (default 60000)
  --max-sse-clients <n>    Concurrent /events clients (default 256)
  --allow-insecure-http    Allow http:// JWKS URLs to non-loopback hosts
  -h, --help               This help

Exit codes: 0 stopped by SIGTERM/SIGINT after draining, 2 bad arguments or config (or the
port is taken), 3 discovery failed at start.
`;

/** Run the sidecar until SIGTERM/SIGINT; resolves with the exit code. */
export async function serveCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    config: { type: 'string' },
    issuer: { type: 'string' },
    name: { type: 'string' },
    audience: { type: 'string', multiple: true },
    'jwks-url': { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    webhook: { type: 'string', multiple: true },
    'webhook-secret-env': { type: 'string' },
    'fleet-url': { type: 'string' },
    'fleet-secret-env': { type: 'string' },
    'fleet-key-prefix': { type: 'string' },
    'min-refresh-interval-ms': { type: 'string' },
    'max-sse-clients': { type: 'string' },
    'allow-insecure-http': { type: 'boolean' },
  });
  if (values.help) {
    io.out(SERVE_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]!.slice(0, 40)}'`);
  if (values.config && values.issuer) throw new UsageError('give --config or --issuer, not both');
  let raw: SidecarConfig;
  if (values.config) {
    try {
      raw = JSON.parse(readFileSync(values.config, 'utf8')) as SidecarConfig;
    } catch (err) {
      throw new UsageError(`cannot read the config ${values.config}: ${(err as Error).message}`);
    }
  } else if (values.issuer) {
    const issuer: SidecarIssuer = { name: values.name ?? 'default', issuer: values.issuer };
    if (values['jwks-url']) issuer.jwksUri = values['jwks-url'];
    if (values.audience) issuer.audience = values.audience;
    issuer.cache = { minRefreshIntervalMs: intOption('min-refresh-interval-ms', values['min-refresh-interval-ms'], 60_000, 0, 3_600_000) };
    if (values['allow-insecure-http']) issuer.cache.allowInsecureHttp = true;
    raw = { issuers: [issuer] };
    if (values.webhook) {
      const secretEnv = values['webhook-secret-env'];
      if (!secretEnv) throw new UsageError('--webhook needs --webhook-secret-env (the secret is never taken from the command line)');
      raw.webhooks = values.webhook.map((url) => ({ url, secretEnv }));
    }
  } else throw new UsageError('--config <file> or --issuer <iss> is required');
  if (values['fleet-url'] !== undefined || values['fleet-secret-env'] !== undefined || values['fleet-key-prefix'] !== undefined) {
    if (!values['fleet-url'] || !values['fleet-secret-env']) throw new UsageError('fleet mode needs --fleet-url and --fleet-secret-env (the secret is never taken from the command line)');
    raw.fleet = { url: values['fleet-url'], secretEnv: values['fleet-secret-env'], ...(values['fleet-key-prefix'] !== undefined ? { keyPrefix: values['fleet-key-prefix'] } : {}) };
  }
  if (values.host) raw.host = values.host;
  if (values.port !== undefined) raw.port = intOption('port', values.port, 8787, 0, 65_535);
  if (values['max-sse-clients'] !== undefined) raw.limits = { ...raw.limits, maxSseClients: intOption('max-sse-clients', values['max-sse-clients'], 256, 0, 100_000) };
  try {
    validateConfig(raw, io.env);
  } catch (err) {
    if (err instanceof SidecarConfigError) throw new UsageError(`config: ${err.message}`);
    throw err;
  }
  const sidecar = createSidecar(raw, { env: io.env });
  // before start(): a SIGUSR1 that arrives early must not reach Node's default (the inspector)
  const onUsr1 = () => void sidecar.refresh().catch(() => {});
  process.on('SIGUSR1', onUsr1);
  try {
    await sidecar.start();
  } catch (err) {
    process.off('SIGUSR1', onUsr1);
    await sidecar.close();
    if (err instanceof DiscoveryError) {
      io.err(`jwks-keeper serve: discovery failed: ${err.message} (${err.code})\n`);
      return EXIT.UNAVAILABLE;
    }
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'CONFIG_INVALID') {
      io.err(`jwks-keeper serve: ${(err as Error).message}\n`);
      return EXIT.USAGE;
    }
    throw err;
  }
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await stopped;
  process.off('SIGUSR1', onUsr1);
  await sidecar.close();
  return EXIT.OK;
}
