/**
 * The whole Redis surface the fleet needs, behind one small interface: a raw command
 * (`EVALSHA`, `EVAL`, `PING`) and a subscriber connection (`SUBSCRIBE`). Everything else
 * (`GET`, `SET NX PX`, `PUBLISH`, `TIME`) runs inside Lua scripts, so an adapter for another
 * client is a few lines (see docs/fleet.md for ioredis).
 *
 * The node-redis adapter below types the client structurally, so this module never imports
 * `redis` (only `redisFleet({ url })` loads it, lazily).
 */

/** A reply of a raw command, as the client decoded it (strings, integers, arrays, null). */
export type RawReply = unknown;

/** A subscriber connection. */
export interface PubSubLink {
  /** Subscribe `channel`; `onMessage` gets each message's payload. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  /** Unsubscribe `channel`. */
  unsubscribe(channel: string): Promise<void>;
  /** Called after every reconnection of the subscriber (missed messages must be caught up). */
  onReconnect(fn: () => void): void;
  /** Close the connection. */
  close(): Promise<void>;
}

/** What the store needs from a Redis client. */
export interface RedisLink {
  /** Send one command; `signal` aborts it when it is still queued (the caller bounds the wait). */
  command(args: readonly string[], signal: AbortSignal): Promise<RawReply>;
  /** A dedicated subscriber connection (created on first use). */
  subscriber(): PubSubLink;
  /** Close what this link opened (a client passed in by the application stays open). */
  close(): Promise<void>;
}

/**
 * The part of a node-redis v5 client (`createClient()` from `redis` or `@redis/client`) the
 * fleet uses. Any `RedisClientType` satisfies it.
 */
export interface NodeRedisClientLike {
  readonly isOpen: boolean;
  connect(): Promise<unknown>;
  sendCommand(args: ReadonlyArray<string>, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  duplicate(): NodeRedisClientLike;
  subscribe(channels: string, listener: (message: string, channel: string) => unknown): Promise<unknown>;
  unsubscribe(channels?: string): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  destroy(): unknown;
}

/** True when `c` looks like a node-redis v5 client. */
export function isNodeRedisClient(c: unknown): c is NodeRedisClientLike {
  const x = c as Record<string, unknown> | null;
  return (
    x !== null &&
    typeof x === 'object' &&
    typeof x.sendCommand === 'function' &&
    typeof x.duplicate === 'function' &&
    typeof x.subscribe === 'function' &&
    typeof x.connect === 'function'
  );
}

function ignore(): void {}

function destroy(c: NodeRedisClientLike): void {
  try {
    c.destroy();
  } catch {
    // not open: nothing to release
  }
}

/**
 * A link over a node-redis client. `owned`: the link created the client (from a URL) and
 * closes it; otherwise only the duplicate it made for pub/sub is closed.
 */
export function nodeRedisLink(client: Promise<NodeRedisClientLike>, owned: boolean, onError: (err: unknown) => void): RedisLink {
  // a client that is not connected yet is connected once; commands queue meanwhile (bounded by the caller's timeout)
  const ready = client.then((c) => {
    if (!c.isOpen) c.connect().catch(onError);
    return c;
  });
  ready.catch(ignore);
  let sub: PubSubLink | undefined;
  let subClient: Promise<NodeRedisClientLike> | undefined;
  return {
    async command(args, signal) {
      const c = await ready;
      return c.sendCommand(args, { abortSignal: signal });
    },
    subscriber() {
      if (sub) return sub;
      const reconnectListeners: (() => void)[] = [];
      subClient = ready.then((c) => {
        const d = c.duplicate();
        d.on('error', onError);
        let readies = 0;
        d.on('ready', () => {
          if (++readies > 1) for (const fn of reconnectListeners) fn();
        });
        d.connect().catch(onError);
        return d;
      });
      subClient.catch(ignore);
      const s = subClient;
      sub = {
        async subscribe(channel, onMessage) {
          const d = await s;
          await d.subscribe(channel, (message) => onMessage(message));
        },
        async unsubscribe(channel) {
          const d = await s;
          await d.unsubscribe(channel);
        },
        onReconnect(fn) {
          reconnectListeners.push(fn);
        },
        async close() {
          destroy(await s);
        },
      };
      return sub;
    },
    async close() {
      // destroy, not a graceful close: a paused server would never answer the pending commands
      const tasks: Promise<unknown>[] = [];
      if (sub) tasks.push(sub.close().catch(ignore));
      if (owned) tasks.push(ready.then(destroy, ignore));
      await Promise.all(tasks);
    },
  };
}

/**
 * The part of an ioredis (v5, v6) client the fleet uses. Any `new Redis()` from `ioredis`
 * satisfies it. Tested with ioredis 6.
 */
export interface IoRedisClientLike {
  readonly status: string;
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IoRedisClientLike;
  subscribe(...channels: string[]): Promise<unknown>;
  unsubscribe(...channels: string[]): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  disconnect(): unknown;
}

/** True when `c` looks like an ioredis client. */
export function isIoRedisClient(c: unknown): c is IoRedisClientLike {
  const x = c as Record<string, unknown> | null;
  return x !== null && typeof x === 'object' && typeof x.call === 'function' && typeof x.duplicate === 'function' && typeof x.status === 'string';
}

/**
 * A link over an ioredis client (never owned: the application created it). ioredis has no
 * per-command abort signal: a command that timed out while queued offline is still sent on
 * reconnection, which every script tolerates (compare-and-set, a lease that expires).
 */
export function ioRedisLink(client: IoRedisClientLike, onError: (err: unknown) => void): RedisLink {
  let sub: PubSubLink | undefined;
  return {
    command(args) {
      const [cmd, ...rest] = args;
      return client.call(cmd!, ...rest);
    },
    subscriber() {
      if (sub) return sub;
      const d = client.duplicate();
      d.on('error', onError);
      const handlers = new Map<string, (message: string) => void>();
      d.on('message', (channel, message) => handlers.get(channel)?.(message));
      const reconnectListeners: (() => void)[] = [];
      let readies = d.status === 'ready' ? 1 : 0;
      d.on('ready', () => {
        if (++readies > 1) for (const fn of reconnectListeners) fn();
      });
      sub = {
        async subscribe(channel, onMessage) {
          handlers.set(channel, onMessage);
          await d.subscribe(channel);
        },
        async unsubscribe(channel) {
          handlers.delete(channel);
          await d.unsubscribe(channel);
        },
        onReconnect(fn) {
          reconnectListeners.push(fn);
        },
        async close() {
          d.disconnect();
        },
      };
      return sub;
    },
    async close() {
      await sub?.close();
    },
  };
}
