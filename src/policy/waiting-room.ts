/**
 * The bounded waiting room of the unknown-kid defence.
 *
 * Lookups for kids absent from the current key set wait here for the next permitted refresh.
 * Memory is bounded by `maxWaiters` waiters in total. Admission, in order:
 *
 * 1. **Distinct kids per client.** A client (the `clientId` of the lookup) may hold waiters
 *    for at most `maxPerClient` distinct kids. More lookups for a kid it already waits for
 *    are never refused for this reason: a burst of valid tokens for one new kid from one
 *    client (every request behind a proxy carries the proxy's address) all wait together.
 *    A client at its limit may still wait for a new kid by displacing one of its own one-off
 *    waiters (a kid it holds a single waiter for, requested no more often than the newcomer).
 * 2. **A fair share when full.** `maxPerClient` is also a client's share of a full room: while
 *    there is space a client may hold more waiters than its share; once the room is full, a
 *    client above its share cannot take a slot from anyone else (it may only displace one of
 *    its own one-off waiters), and a client within its share displaces a waiter of a client
 *    above it (never a waiter of a popular kid).
 * 3. **Frequency when full.** Otherwise the newcomer's kid frequency is compared, the TinyLFU
 *    way, with that of the least recently active groups: a kid that many tokens carry (a real
 *    new key) displaces one-off random kids, a random kid cannot displace a popular one.
 *
 * Anonymous lookups (no `clientId`) take part in 3 only.
 */

/** One waiting lookup. */
export interface Waiter<T> {
  readonly kid: string;
  readonly clientId: string | undefined;
  readonly arrivedAt: number;
  readonly deadline: number;
  /** Only a refresh that started after `arrivedAt` may settle it (signature-failure refreshes). */
  readonly needsNewFetch: boolean;
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

interface Group<T> {
  waiters: Waiter<T>[];
  /** The kid's frequency estimate when a waiter last joined. */
  frequency: number;
  /** Whether the kid was popular (priority path) when a waiter last joined: protected from fair-share displacement. */
  popular: boolean;
}

interface Hold {
  /** Waiters this client holds. */
  waiters: number;
  /** Waiters per kid, least recently joined kid first. */
  kids: Map<string, number>;
}

/** Result of an admission attempt. At most one waiter is displaced per admission. */
export type Admission<T> =
  | { admitted: true; evicted: Waiter<T> | undefined }
  | { admitted: false; reason: 'client-capacity' | 'capacity' };

/** How many of the least recently active groups (or a client's kids) are examined for a victim. */
const VICTIM_SAMPLE = 8;

/** Bounded, frequency-aware, fair waiting room. */
export class WaitingRoom<T> {
  readonly #groups = new Map<string, Group<T>>();
  readonly #perClient = new Map<string, Hold>();
  /** Clients holding more waiters than their share. */
  readonly #overShare = new Set<string>();
  #size = 0;

  /**
   * @param maxWaiters - waiters held at once, across all kids and clients.
   * @param maxPerClient - distinct kids one client may hold waiting, and its share of a full room.
   */
  constructor(
    private readonly maxWaiters: number,
    private readonly maxPerClient: number,
  ) {}

  /** Waiters held now. */
  get size(): number {
    return this.#size;
  }

  /** Distinct kids waiting. */
  get kidCount(): number {
    return this.#groups.size;
  }

  /** Clients with at least one waiter. */
  get clientCount(): number {
    return this.#perClient.size;
  }

  /** What `clientId` holds now: waiters and distinct kids. */
  heldBy(clientId: string): { waiters: number; kids: number } {
    const h = this.#perClient.get(clientId);
    return { waiters: h?.waiters ?? 0, kids: h?.kids.size ?? 0 };
  }

  /** Whether some lookup waits for `kid`. */
  has(kid: string): boolean {
    return this.#groups.has(kid);
  }

  /**
   * Admit `w` if the rules above let it in (see the module comment). `frequency` estimates
   * how often `w.kid` was asked for recently; `popular` says whether it is popular in the
   * sense of the priority path. Groups remember both from their last admission.
   */
  admit(w: Waiter<T>, frequency: number, popular = false): Admission<T> {
    const c = w.clientId;
    const hold = c === undefined ? undefined : this.#perClient.get(c);
    let evicted: Waiter<T> | undefined;
    if (c !== undefined && !(hold?.kids.has(w.kid) ?? false) && (hold?.kids.size ?? 0) >= this.maxPerClient) {
      evicted = this.#evictOwnOneOff(c, hold!, w.kid, frequency, popular);
      if (!evicted) return { admitted: false, reason: 'client-capacity' };
    }
    if (!evicted && this.#size >= this.maxWaiters) {
      if (this.maxWaiters === 0) return { admitted: false, reason: 'capacity' };
      if (c !== undefined && (hold?.waiters ?? 0) + 1 > this.maxPerClient) {
        // above its share of a full room: only its own one-off waiters can make space
        evicted = hold ? this.#evictOwnOneOff(c, hold, w.kid, frequency, popular) : undefined;
        if (!evicted) return { admitted: false, reason: 'client-capacity' };
      } else {
        evicted = (c !== undefined ? this.#evictOverShare(c) : undefined) ?? this.#evictLeastFrequent(w.kid, frequency, popular);
        if (!evicted) return { admitted: false, reason: 'capacity' };
      }
    }
    const group = this.#groups.get(w.kid);
    if (group) {
      // move the group to the most-recently-active end
      this.#groups.delete(w.kid);
      group.waiters.push(w);
      group.frequency = frequency;
      group.popular = popular;
      this.#groups.set(w.kid, group);
    } else {
      this.#groups.set(w.kid, { waiters: [w], frequency, popular });
    }
    this.#size++;
    if (c !== undefined) {
      const h = this.#perClient.get(c) ?? { waiters: 0, kids: new Map<string, number>() };
      this.#perClient.set(c, h);
      h.waiters++;
      const n = (h.kids.get(w.kid) ?? 0) + 1;
      h.kids.delete(w.kid);
      h.kids.set(w.kid, n);
      if (h.waiters > this.maxPerClient) this.#overShare.add(c);
    }
    return { admitted: true, evicted };
  }

  /** Displace one of client `c`'s one-off waiters (a kid it holds once, no more frequent than the newcomer). */
  #evictOwnOneOff(c: string, hold: Hold, newKid: string, frequency: number, popular: boolean): Waiter<T> | undefined {
    let victimKid: string | undefined;
    let victimFreq = Infinity;
    let seen = 0;
    for (const [kid, n] of hold.kids) {
      if (seen++ >= VICTIM_SAMPLE) break;
      if (kid === newKid || n !== 1) continue;
      const g = this.#groups.get(kid)!;
      if (g.frequency > frequency || (g.popular && !popular)) continue;
      if (g.frequency < victimFreq) {
        victimKid = kid;
        victimFreq = g.frequency;
      }
    }
    return victimKid === undefined ? undefined : this.#removeClientWaiter(victimKid, c);
  }

  /** Displace the oldest waiter of a non-popular kid held by a client above its share (not `c`). */
  #evictOverShare(c: string): Waiter<T> | undefined {
    for (const x of this.#overShare) {
      if (x === c) continue;
      const hold = this.#perClient.get(x)!;
      let seen = 0;
      for (const kid of hold.kids.keys()) {
        if (seen++ >= VICTIM_SAMPLE) break;
        if (this.#groups.get(kid)!.popular) continue;
        return this.#removeClientWaiter(kid, x);
      }
    }
    return undefined;
  }

  /** TinyLFU: the least frequent of the sampled least recently active groups loses its oldest waiter. */
  #evictLeastFrequent(newKid: string, frequency: number, popular: boolean): Waiter<T> | undefined {
    let victim: Group<T> | undefined;
    let victimKid = '';
    let seen = 0;
    for (const [kid, g] of this.#groups) {
      if (seen++ >= VICTIM_SAMPLE) break;
      if (kid === newKid || (g.popular && !popular)) continue;
      if (g.frequency <= frequency && (victim === undefined || g.frequency < victim.frequency)) {
        victim = g;
        victimKid = kid;
      }
    }
    if (victim === undefined) return undefined;
    const w = victim.waiters.shift()!;
    this.#forget(w);
    if (victim.waiters.length === 0) this.#groups.delete(victimKid);
    return w;
  }

  /** Remove the oldest waiter of client `c` in the group of `kid`. */
  #removeClientWaiter(kid: string, c: string): Waiter<T> | undefined {
    const g = this.#groups.get(kid);
    if (!g) return undefined;
    const i = g.waiters.findIndex((x) => x.clientId === c);
    if (i < 0) return undefined;
    const [w] = g.waiters.splice(i, 1);
    this.#forget(w!);
    if (g.waiters.length === 0) this.#groups.delete(kid);
    return w;
  }

  #forget(w: Waiter<T>): void {
    this.#size--;
    const c = w.clientId;
    if (c === undefined) return;
    const h = this.#perClient.get(c);
    if (!h) return;
    h.waiters--;
    const n = (h.kids.get(w.kid) ?? 1) - 1;
    if (n <= 0) h.kids.delete(w.kid);
    else h.kids.set(w.kid, n);
    if (h.waiters <= this.maxPerClient) this.#overShare.delete(c);
    if (h.waiters <= 0) this.#perClient.delete(c);
  }

  /**
   * Visit every group; `decide` returns, per waiter, whether it leaves the room (the caller
   * settles it). Groups left empty are removed.
   */
  sweep(decide: (kid: string, waiter: Waiter<T>) => boolean): void {
    for (const [kid, { waiters: group }] of this.#groups) {
      let kept = 0;
      for (let i = 0; i < group.length; i++) {
        const w = group[i]!;
        if (decide(kid, w)) this.#forget(w);
        else group[kept++] = w;
      }
      group.length = kept;
      if (kept === 0) this.#groups.delete(kid);
    }
  }

  /** Remove every waiter and return them. */
  drain(): Waiter<T>[] {
    const all: Waiter<T>[] = [];
    for (const group of this.#groups.values()) all.push(...group.waiters);
    this.#groups.clear();
    this.#perClient.clear();
    this.#overShare.clear();
    this.#size = 0;
    return all;
  }
}
