/**
 * The HTTP leaf: one conditional GET of the JWKS through the bounded transport, per-key
 * validation, and a record. It neither retries nor budgets: the layers above decide whether
 * it runs. An OpenID discovery leaf sits beside it (it resolves `jwks_uri` from the issuer's
 * discovery document with `fetchJsonDocument`, then delegates to this leaf).
 */
import { KeysUnavailableError } from '../errors.js';
import type { RefreshReason } from '../events.js';
import type { FetchLike, TransportLimits } from '../fetch/transport.js';
import { fetchJwksDocument } from '../fetch/transport.js';
import { buildSnapshot } from '../jwks/snapshot.js';
import type { DroppedKey, ValidateOptions } from '../jwks/validate.js';
import { validateJwks } from '../jwks/validate.js';
import type { FreshnessConfig } from '../policy/refresh.js';
import { effectiveFreshnessMs } from '../policy/refresh.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import type { KeySetRecord, VersionClock } from '../core/record.js';
import { makeRecord } from '../core/record.js';
import type { RecordSource } from './types.js';

/** What the leaf reports while it works (the cache turns these into stats and events). */
export interface LeafObserver {
  /** A request is about to be sent. */
  request(reason: RefreshReason): void;
  /** A key of a fetched set was dropped at ingest. */
  dropped(key: DroppedKey): void;
}

/** Everything the HTTP leaf needs. */
export interface HttpLeafOptions {
  readonly jwksUri: URL;
  readonly transport: TransportLimits;
  readonly validation: ValidateOptions;
  readonly freshness: FreshnessConfig;
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  /** Issues the version of each record (stamped when the request is sent). */
  readonly versions: VersionClock;
  readonly observer: LeafObserver;
}

/** The JWKS over HTTP as a {@link RecordSource}. */
export function httpLeaf(o: HttpLeafOptions): RecordSource {
  const jwksUri = o.jwksUri.href;
  return {
    async load(current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal): Promise<KeySetRecord> {
      const version = o.versions.next(o.clock.wallNow());
      o.observer.request(reason);
      const res = await fetchJwksDocument(o.jwksUri, current ? current.validators : {}, o.transport, {
        fetch: o.fetch,
        clock: o.clock,
        scheduler: o.scheduler,
        signal,
      });
      if (signal.aborted) throw new KeysUnavailableError('CLOSED', 'closed');
      const prev = current?.snapshot;
      let snapshot;
      if (res.kind === 'modified') {
        const { keys, dropped } = validateJwks(res.body, o.validation);
        for (const d of dropped) o.observer.dropped(d);
        const candidate = buildSnapshot(keys, (prev?.generation ?? 0) + 1, prev);
        snapshot = prev && candidate.identity === prev.identity ? prev : candidate;
      } else if (!prev) {
        throw new KeysUnavailableError('JWKS_HTTP_STATUS', '304 without a cached key set', { upstreamStatus: 304 });
      } else {
        snapshot = prev;
      }
      return makeRecord({
        jwksUri,
        snapshot,
        fetchedAt: o.clock.wallNow(),
        freshForMs: effectiveFreshnessMs(res.freshnessMs, o.freshness),
        validators: res.validators,
        version,
        provenance: res.kind === 'modified' ? { kind: 'modified', durationMs: res.durationMs, bytes: res.bytes } : { kind: 'not-modified', durationMs: res.durationMs },
      });
    },
  };
}
