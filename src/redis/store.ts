/**
 * The shared store on Redis: records (compare-and-set by version, published atomically),
 * leases (SET NX PX + compare-and-delete), a fleet-wide token bucket (dated by Redis' clock),
 * and version broadcasts. Every call is bounded by `callTimeoutMs` and goes through the
 * circuit breaker; every answer is checked before it is believed.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { StoreLease, StoredRecord } from '../store/contract.js';
import type { RedisFleet } from './index.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import type { BreakerConfig, BreakerState } from './breaker.js';
import { breakerAdmit, breakerDegraded, breakerInit, breakerRecord } from './breaker.js';
import { RedisFleetError, type RedisFleetErrorCode } from './errors.js';
import type { FleetBudget, FleetStatus, FleetStatusChange, RedisFleetStats, TakeResult } from './types.js';
export type { FleetBudget, FleetStatus, FleetStatusChange, RedisFleetStats, TakeResult } from './types.js';
import type { PubSubLink, RawReply, RedisLink } from './link.js';
import type { Script } from './scripts.js';
import { DELETE_IF_VERSION, GET, LOCK, MAX_VERSION, PING, SET_IF_NEWER, TAKE, UNLOCK } from './scripts.js';

/** Resolved settings of the store. @internal */
export interface StoreSettings extends BreakerConfig {
  /** The HMAC key of records (the store never uses it; the cache does). */
  secret: Uint8Array;
  keyPrefix: string;
  callTimeoutMs: number;
  maxValueBytes: number;
  maxLockTtlMs: number;
  clock: Clock;
  scheduler: Scheduler;
}

type Listener = (version: number) => void;

function ignore(): void {}

function isVersion(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** A decimal version string, as stored and published: digits only, exact. */
function parseVersion(s: unknown): number | undefined {
  if (typeof s !== 'string' || !/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return isVersion(n) ? n : undefined;
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

function garbage(what: string): RedisFleetError {
  return new RedisFleetError('FLEET_GARBAGE', what);
}

/** @internal The store behind `redisFleet`. */
export class RedisStore implements RedisFleet {
  readonly #link: RedisLink;
  readonly #s: StoreSettings;
  #breaker: BreakerState = breakerInit;
  #degradedSince: number | undefined;
  #degradedReason: RedisFleetErrorCode | undefined;
  #degradedTotal = 0;
  #probeTimer: unknown;
  #closed = false;
  readonly #statusListeners = new Set<(c: FleetStatusChange) => void>();
  readonly #channels = new Map<string, { key: string; listeners: Set<Listener> }>();
  #sub: PubSubLink | undefined;
  readonly #stats: RedisFleetStats = { calls: 0, failures: 0, timeouts: 0, refused: 0, garbage: 0, degradations: 0, broadcastsReceived: 0 };

  constructor(link: RedisLink, settings: StoreSettings) {
    this.#link = link;
    this.#s = settings;
  }

  get keyPrefix(): string {
    return this.#s.keyPrefix;
  }

  get secret(): Uint8Array {
    return this.#s.secret;
  }

  // ---------------------------------------------------------------- keys

  #slot(key: string): string {
    const h = createHash('sha256').update(key, 'utf8').digest('base64url').slice(0, 32);
    return `${this.#s.keyPrefix}{${h}}`;
  }

  /** The Redis keys and channel used for `key` (for operators and tests). */
  redisKeys(key: string): { record: string; lock: string; bucket: string; channel: string } {
    const slot = this.#slot(key);
    return { record: `${slot}:record`, lock: `${slot}:lock`, bucket: `${slot}:bucket`, channel: `${slot}:version` };
  }

  // ---------------------------------------------------------------- bounded calls

  /**
   * Run one script under the breaker and the timeout; `parse` checks the answer (throwing
   * `FLEET_GARBAGE`), and only a parsed answer counts as a success.
   */
  async #run<T>(script: Script, key: string, args: readonly string[], parse: (r: RawReply) => T): Promise<T> {
    if (this.#closed) throw new RedisFleetError('FLEET_CLOSED', 'the fleet is closed');
    const now = this.#s.clock.monotonicNow();
    const admitted = breakerAdmit(this.#breaker, now, this.#s);
    this.#breaker = admitted.state;
    if (admitted.verdict === 'refuse') {
      this.#stats.refused++;
      throw new RedisFleetError('FLEET_UNAVAILABLE', 'Redis is circuit-broken after repeated failures; running local-only');
    }
    this.#stats.calls++;
    const ac = new AbortController();
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#s.scheduler.setTimeout(() => {
        ac.abort();
        reject(new RedisFleetError('FLEET_TIMEOUT', `no answer from Redis within ${this.#s.callTimeoutMs} ms`));
      }, this.#s.callTimeoutMs);
    });
    const send = async (): Promise<RawReply> => {
      const tail = ['1', key, ...args];
      try {
        return await this.#link.command(['EVALSHA', script.sha, ...tail], ac.signal);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return this.#link.command(['EVAL', script.source, ...tail], ac.signal);
      }
    };
    try {
      const reply = await Promise.race([send(), timeout]);
      const value = parse(reply);
      this.#outcome(true);
      return value;
    } catch (err) {
      const e = err instanceof RedisFleetError ? err : new RedisFleetError('FLEET_ERROR', err instanceof Error ? err.message : String(err), { cause: err });
      if (e.code === 'FLEET_TIMEOUT') this.#stats.timeouts++;
      if (e.code === 'FLEET_GARBAGE') this.#stats.garbage++;
      this.#outcome(false, e);
      throw e;
    } finally {
      this.#s.scheduler.clearTimeout(timer);
    }
  }

  #outcome(ok: boolean, err?: RedisFleetError): void {
    if (this.#closed) return;
    const now = this.#s.clock.monotonicNow();
    const was = breakerDegraded(this.#breaker);
    this.#breaker = breakerRecord(this.#breaker, now, ok, this.#s);
    if (!ok) this.#stats.failures++;
    const is = breakerDegraded(this.#breaker);
    if (!was && is) {
      this.#stats.degradations++;
      this.#degradedSince = now;
      this.#degradedReason = err?.code ?? 'FLEET_ERROR';
      this.#emit({ state: 'degraded', reason: this.#degradedReason, message: err?.message ?? '' });
    } else if (was && !is) {
      const degradedForMs = now - (this.#degradedSince ?? now);
      this.#degradedTotal += degradedForMs;
      this.#degradedSince = undefined;
      this.#degradedReason = undefined;
      this.#emit({ state: 'recovered', degradedForMs });
      this.#catchUp();
    }
    if (this.#breaker.mode === 'open') this.#armProbe();
  }

  /** While open, probe once per `openMs` so the fleet rejoins even when nothing else calls. */
  #armProbe(): void {
    this.#s.scheduler.clearTimeout(this.#probeTimer);
    this.#probeTimer = this.#s.scheduler.setTimeout(() => {
      this.#probeTimer = undefined;
      if (this.#closed || this.#breaker.mode !== 'open') return;
      this.ping().catch(ignore);
    }, this.#s.openMs);
  }

  #emit(change: FleetStatusChange): void {
    for (const l of [...this.#statusListeners]) {
      try {
        l(change);
      } catch {
        // observers never steer
      }
    }
  }

  // ---------------------------------------------------------------- SharedStore

  /** One round trip through the breaker (the probe of an open circuit uses it too). */
  async ping(): Promise<void> {
    await this.#run(PING, this.redisKeys('ping').record, [], (r) => {
      if (r !== 1) throw garbage('unexpected answer to PING');
    });
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    return this.#run(GET, this.redisKeys(key).record, [String(this.#s.maxValueBytes), String(MAX_VERSION)], (r) => {
      if (!Array.isArray(r) || r.length === 0) throw garbage('unexpected answer to GET');
      const [tag, a, b] = r as unknown[];
      if (tag === 0 && r.length === 1) return undefined;
      if (tag === -1) throw garbage(`the record key holds a ${String(a)}, not a record`);
      if (tag === -2) throw garbage(`the stored value is ${String(a)} bytes, over maxValueBytes`);
      if (tag === -3 || tag === -4) throw garbage('the stored record has no valid version or value');
      if (tag !== 1 || r.length !== 3) throw garbage('unexpected answer to GET');
      const version = parseVersion(a);
      if (version === undefined) throw garbage('the stored version is not a version');
      if (typeof b !== 'string' || b.length === 0 || b.length > this.#s.maxValueBytes) throw garbage('the stored value is not a record');
      return { version, value: b };
    });
  }

  async setIfNewer(key: string, version: number, value: string): Promise<boolean> {
    if (!isVersion(version)) throw new RangeError('version must be a non-negative safe integer');
    if (typeof value !== 'string' || value.length === 0) throw new TypeError('value must be a non-empty string');
    if (Buffer.byteLength(value, 'utf8') > this.#s.maxValueBytes) {
      throw new RedisFleetError('FLEET_TOO_LARGE', `value is over maxValueBytes (${this.#s.maxValueBytes})`);
    }
    const k = this.redisKeys(key);
    return this.#run(SET_IF_NEWER, k.record, [String(version), value, k.channel, String(MAX_VERSION)], (r) => {
      if (r === 1) return true;
      if (r === 0) return false;
      throw garbage('unexpected answer to SET');
    });
  }

  /**
   * Remove the record under `key` if it still carries `version`: for a record this process
   * refused (MAC, foreign URL), so that the next good write is not blocked by it.
   */
  async deleteIfVersion(key: string, version: number): Promise<boolean> {
    if (!isVersion(version)) return false;
    return this.#run(DELETE_IF_VERSION, this.redisKeys(key).record, [String(version)], (r) => {
      if (r === 1) return true;
      if (r === 0) return false;
      throw garbage('unexpected answer to DEL');
    });
  }

  async lock(key: string, ttlMs: number): Promise<StoreLease | undefined> {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > this.#s.maxLockTtlMs) {
      throw new RangeError(`ttlMs must be an integer in [1, ${this.#s.maxLockTtlMs}]`);
    }
    const lockKey = this.redisKeys(key).lock;
    const token = randomBytes(18).toString('base64url');
    const taken = await this.#run(LOCK, lockKey, [token, String(ttlMs), String(this.#s.maxLockTtlMs)], (r) => {
      if (r === 1) return true;
      if (r === 0) return false;
      throw garbage('unexpected answer to SET NX');
    });
    if (!taken) return undefined;
    let released: Promise<void> | undefined;
    return {
      release: () =>
        (released ??= this.#run(UNLOCK, lockKey, [token], () => undefined).then(ignore, ignore)),
    };
  }

  /** Take one token of the fleet-wide bucket under `key` (created full). */
  async take(key: string, budget: FleetBudget): Promise<TakeResult> {
    const { burst, cooldownMs } = budget;
    if (!Number.isFinite(burst) || burst < 1 || !Number.isFinite(cooldownMs) || cooldownMs < 1) {
      throw new RangeError('budget needs burst >= 1 and cooldownMs >= 1');
    }
    return this.#run(TAKE, this.redisKeys(key).bucket, [String(burst), String(Math.ceil(cooldownMs))], (r) => {
      if (!Array.isArray(r) || r.length !== 2) throw garbage('unexpected answer to TAKE');
      const [taken, wait] = r as unknown[];
      if ((taken !== 0 && taken !== 1) || typeof wait !== 'number' || !Number.isSafeInteger(wait) || wait < 0) throw garbage('unexpected answer to TAKE');
      return { taken: taken === 1, retryAfterMs: taken === 1 ? 0 : Math.min(wait, Math.ceil(cooldownMs)) };
    });
  }

  async subscribe(key: string, onVersion: Listener): Promise<() => Promise<void>> {
    if (this.#closed) throw new RedisFleetError('FLEET_CLOSED', 'the fleet is closed');
    const channel = this.redisKeys(key).channel;
    let entry = this.#channels.get(channel);
    const first = entry === undefined;
    if (!entry) this.#channels.set(channel, (entry = { key, listeners: new Set() }));
    const listener: Listener = (v) => onVersion(v);
    entry.listeners.add(listener);
    if (first) {
      const sub = this.#subscriber();
      const subscribed = sub.subscribe(channel, (message) => this.#onMessage(channel, message));
      // bounded: without Redis the subscription is still registered and made on reconnection
      await this.#within(subscribed);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      const e = this.#channels.get(channel);
      if (!e) return;
      e.listeners.delete(listener);
      if (e.listeners.size > 0) return;
      this.#channels.delete(channel);
      if (this.#sub) await this.#within(this.#sub.unsubscribe(channel));
    };
  }

  #subscriber(): PubSubLink {
    if (this.#sub) return this.#sub;
    const sub = (this.#sub = this.#link.subscriber());
    sub.onReconnect(() => this.#catchUp());
    return sub;
  }

  /** Wait for `p` at most `callTimeoutMs`; never rejects. */
  async #within(p: Promise<unknown>): Promise<void> {
    let timer: unknown;
    const t = new Promise<void>((resolve) => (timer = this.#s.scheduler.setTimeout(resolve, this.#s.callTimeoutMs)));
    await Promise.race([p.then(ignore, ignore), t]);
    this.#s.scheduler.clearTimeout(timer);
  }

  #onMessage(channel: string, message: string): void {
    const version = parseVersion(message);
    if (version === undefined) {
      this.#stats.garbage++;
      return;
    }
    this.#stats.broadcastsReceived++;
    this.#deliver(channel, version);
  }

  #deliver(channel: string, version: number): void {
    const e = this.#channels.get(channel);
    if (!e) return;
    for (const l of [...e.listeners]) {
      try {
        l(version);
      } catch {
        // a listener cannot break the store
      }
    }
  }

  /**
   * After a reconnection or a recovery, broadcasts may have been missed: tell every
   * subscriber the version stored now (a listener ignores versions it already has).
   */
  #catchUp(): void {
    for (const [channel, e] of this.#channels) {
      this.get(e.key).then((r) => {
        if (r) this.#deliver(channel, r.version);
      }, ignore);
    }
  }

  // ---------------------------------------------------------------- status

  status(): FleetStatus {
    const now = this.#s.clock.monotonicNow();
    const current = this.#degradedSince === undefined ? 0 : now - this.#degradedSince;
    return {
      state: breakerDegraded(this.#breaker) ? 'degraded' : 'connected',
      reason: this.#degradedReason,
      degradedSince: this.#degradedSince,
      degradedMs: this.#degradedTotal + current,
    };
  }

  onStatus(listener: (change: FleetStatusChange) => void): () => void {
    this.#statusListeners.add(listener);
    return () => this.#statusListeners.delete(listener);
  }

  stats(): RedisFleetStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#s.scheduler.clearTimeout(this.#probeTimer);
    this.#channels.clear();
    this.#statusListeners.clear();
    await this.#link.close();
  }
}
