/**
 * The sidecar's notification hub: numbered events in a bounded ring buffer, delivered to
 * Server-Sent-Events clients (with `Last-Event-ID` resume) and to subscribers (webhooks).
 * Publishing never blocks and never throws: a slow SSE client is cut off when its socket
 * buffer passes a bound instead of growing memory.
 */
import type { ServerResponse } from 'node:http';

/** Event types the sidecar publishes. */
export const SIDECAR_EVENTS = ['keys.changed', 'key.firstUsed', 'refresh.failed', 'keys.staleServed'] as const;
/** One of {@link SIDECAR_EVENTS}. */
export type SidecarEventType = (typeof SIDECAR_EVENTS)[number];

/** A published event. `id` increases by one per event, from 1. */
export interface SidecarEvent {
  readonly id: number;
  readonly type: SidecarEventType;
  /** ISO time of publication. */
  readonly time: string;
  /** The issuer's configured name and the library event's payload. */
  readonly data: Readonly<Record<string, unknown>> & { issuer: string };
}

/** Bytes buffered for one SSE client before it is cut off as too slow. */
const MAX_CLIENT_BACKLOG = 1024 * 1024;

/** Numbered events, a bounded replay buffer, SSE clients (capped) and subscribers. */
export class EventHub {
  readonly #ring: (SidecarEvent | undefined)[];
  #next = 1;
  readonly #clients = new Set<ServerResponse>();
  readonly #subscribers = new Set<(e: SidecarEvent) => void>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(
    readonly bufferSize: number,
    readonly maxClients: number,
    heartbeatMs: number,
  ) {
    this.#ring = new Array<SidecarEvent | undefined>(bufferSize);
    this.#heartbeat = setInterval(() => this.#broadcast(': keep-alive\n\n'), heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Number of SSE clients connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Id of the last event published (0 before any). */
  get lastId(): number {
    return this.#next - 1;
  }

  /** Publish an event to the buffer, every SSE client and every subscriber. */
  publish(type: SidecarEventType, data: SidecarEvent['data']): SidecarEvent {
    const e: SidecarEvent = Object.freeze({ id: this.#next++, type, time: new Date().toISOString(), data: Object.freeze({ ...data }) });
    this.#ring[e.id % this.bufferSize] = e;
    this.#broadcast(frame(e));
    for (const s of this.#subscribers) {
      try {
        s(e);
      } catch {
        // a subscriber never breaks publication
      }
    }
    return e;
  }

  /** Subscribe to every event; returns the unsubscribe function. */
  subscribe(fn: (e: SidecarEvent) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** Events with an id above `afterId` still in the buffer, oldest first, and whether some were lost. */
  since(afterId: number): { events: SidecarEvent[]; gap: boolean } {
    const oldest = Math.max(1, this.#next - this.bufferSize);
    const from = Math.max(afterId + 1, oldest);
    const events: SidecarEvent[] = [];
    for (let id = from; id < this.#next; id++) {
      const e = this.#ring[id % this.bufferSize];
      if (e && e.id === id) events.push(e);
    }
    // a gap: events after `afterId` were evicted, or `afterId` is from an earlier process (ids restart at 1)
    return { events, gap: (afterId + 1 < oldest && this.#next > oldest) || afterId > this.lastId };
  }

  /**
   * Take `res` as an SSE stream, replaying events after `lastEventId`. Returns false (and
   * answers 503) when the client cap is reached.
   */
  attach(res: ServerResponse, lastEventId: number | undefined): boolean {
    if (this.#clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5', connection: 'close' });
      res.end(JSON.stringify({ error: 'too_many_event_clients', max: this.maxClients }));
      return false;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    res.write(`retry: 5000\n: connected, last event ${this.lastId}\n\n`);
    if (lastEventId !== undefined) {
      const { events, gap } = this.since(lastEventId);
      if (gap) res.write(`event: gap\ndata: ${JSON.stringify({ lastEventId, oldestAvailable: events[0]?.id ?? this.#next })}\n\n`);
      for (const e of events) res.write(frame(e));
    }
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
    return true;
  }

  #broadcast(text: string): void {
    for (const res of this.#clients) {
      if (res.writableLength > MAX_CLIENT_BACKLOG) {
        this.#clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }

  /** End every SSE stream (shutdown) and stop the heartbeat. */
  close(): void {
    clearInterval(this.#heartbeat);
    for (const res of this.#clients) {
      res.end('event: shutdown\ndata: {}\n\n');
    }
    this.#clients.clear();
    this.#subscribers.clear();
  }
}

/** One SSE frame. JSON never contains a raw newline, so `data:` is one line. */
function frame(e: SidecarEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.id, type: e.type, time: e.time, ...e.data })}\n\n`;
}
