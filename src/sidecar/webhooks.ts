/**
 * Webhooks: each event is POSTed as JSON to each configured URL, signed with HMAC-SHA256.
 * One bounded queue and one sequential worker per webhook: a slow or failing receiver never
 * blocks the refresher (publication only appends to a queue) and never grows memory (the
 * oldest delivery is dropped when the queue is full). Failed attempts are retried with
 * exponential backoff and jitter, up to a fixed number of attempts.
 *
 * Signature header (`x-jwks-keeper-signature`): `t=<unix seconds>,v1=<hex HMAC-SHA256 of
 * "<t>.<raw body>">`. Receivers check it with {@link verifyWebhookSignature} (or any HMAC
 * implementation) and refuse old timestamps to stop replays.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { SidecarEvent } from './hub.js';

/** The signature header's value for `body` at `timeSec`. */
export function signWebhook(secret: string, body: string, timeSec: number): string {
  const mac = createHmac('sha256', secret).update(`${timeSec}.${body}`).digest('hex');
  return `t=${timeSec},v1=${mac}`;
}

/**
 * Check a webhook's `x-jwks-keeper-signature` header against the raw body. False when the
 * header is malformed, the MAC differs, or the timestamp is more than `toleranceSec` away
 * from `nowSec` (default 300 s: replayed deliveries are refused).
 */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined, options: { nowSec?: number; toleranceSec?: number } = {}): boolean {
  if (typeof header !== 'string') return false;
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSec ?? 300)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return timingSafeEqual(expected, Buffer.from(m[2]!));
}

/** Settings of the dispatcher (from the sidecar's limits). */
export interface WebhookSettings {
  queueSize: number;
  maxAttempts: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
}

/** Counters per webhook. */
export interface WebhookStats {
  url: string;
  delivered: number;
  failed: number;
  dropped: number;
  retries: number;
  queued: number;
}

interface Target {
  url: string;
  secret: string;
  events: Set<string> | undefined;
  queue: SidecarEvent[];
  running: boolean;
  stats: WebhookStats;
}

type Log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;

/** One bounded queue and one sequential worker per webhook; see the module comment. */
export class WebhookDispatcher {
  readonly #targets: Target[];
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(
    webhooks: readonly { url: string; secret: string; events?: readonly string[] }[],
    readonly settings: WebhookSettings,
    readonly log: Log = () => {},
  ) {
    this.#targets = webhooks.map((w) => ({
      url: w.url,
      secret: w.secret,
      events: w.events ? new Set(w.events) : undefined,
      queue: [],
      running: false,
      stats: { url: w.url, delivered: 0, failed: 0, dropped: 0, retries: 0, queued: 0 },
    }));
  }

  /** Queue an event for every webhook that wants it. Never blocks, never throws. */
  enqueue(e: SidecarEvent): void {
    if (this.#closed) return;
    for (const t of this.#targets) {
      if (t.events && !t.events.has(e.type)) continue;
      if (t.queue.length >= this.settings.queueSize) {
        t.queue.shift();
        t.stats.dropped++;
        this.log('warn', 'webhook queue full: oldest delivery dropped', { url: t.url });
      }
      t.queue.push(e);
      t.stats.queued = t.queue.length;
      if (!t.running) void this.#run(t);
    }
  }

  /** Counters, per webhook. */
  stats(): WebhookStats[] {
    return this.#targets.map((t) => ({ ...t.stats, queued: t.queue.length }));
  }

  async #run(t: Target): Promise<void> {
    t.running = true;
    try {
      while (t.queue.length > 0 && !this.#closed) {
        // off the queue before delivery: a full queue drops the oldest *waiting* delivery, never the one in flight
        const e = t.queue.shift()!;
        t.stats.queued = t.queue.length;
        await this.#deliver(t, e);
      }
    } finally {
      t.running = false;
      if (this.#targets.every((x) => !x.running && x.queue.length === 0)) {
        const w = this.#idle;
        this.#idle = [];
        for (const f of w) f();
      }
    }
  }

  async #deliver(t: Target, e: SidecarEvent): Promise<void> {
    const body = JSON.stringify({ id: e.id, type: e.type, time: e.time, ...e.data });
    const delivery = randomUUID();
    for (let attempt = 1; attempt <= this.settings.maxAttempts && !this.#closed; attempt++) {
      let status: number | undefined;
      let error: string | undefined;
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.settings.timeoutMs)]);
      try {
        const res = await fetch(t.url, {
          method: 'POST',
          redirect: 'manual',
          signal,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'jwks-keeper-sidecar',
            'x-jwks-keeper-event': e.type,
            'x-jwks-keeper-event-id': String(e.id),
            'x-jwks-keeper-delivery': delivery,
            'x-jwks-keeper-attempt': String(attempt),
            'x-jwks-keeper-signature': signWebhook(t.secret, body, Math.floor(Date.now() / 1000)),
          },
          body,
        });
        status = res.status;
        await res.body?.cancel().catch(() => {});
        if (status >= 200 && status < 300) {
          t.stats.delivered++;
          this.log('info', 'webhook delivered', { url: t.url, eventId: e.id, type: e.type, attempt });
          return;
        }
      } catch (err) {
        error = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      }
      if (attempt === this.settings.maxAttempts || this.#closed) break;
      t.stats.retries++;
      const base = Math.min(this.settings.backoffMaxMs, this.settings.backoffInitialMs * 2 ** (attempt - 1));
      const delay = Math.round(base * (0.5 + Math.random() * 0.5));
      this.log('warn', 'webhook attempt failed, retrying', { url: t.url, eventId: e.id, attempt, status, error, retryInMs: delay });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          resolve();
        }, delay);
        this.#timers.add(timer);
        this.#abort.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    t.stats.failed++;
    this.log('warn', 'webhook delivery abandoned', { url: t.url, eventId: e.id, type: e.type });
  }

  /** Resolve when every queue is empty (or after `timeoutMs`), then stop: pending retries are abandoned. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#targets.some((t) => t.running || t.queue.length > 0)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.#closed = true;
    this.#abort.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}
