/**
 * The bounded waiting room of the unknown-kid defence.
 *
 * Lookups for kids absent from the current key set wait here for the next permitted refresh.
 * Capacity is bounded in total and per client. When full, admission is decided the TinyLFU
 * way: the newcomer's kid frequency is compared with that of the least recently active
 * groups; a kid that many tokens carry (a real new key) displaces one-off random kids, while a
 * random kid cannot displace a popular one.
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
}

/** Result of an admission attempt. */
export type Admission<T> =
  | { admitted: true; evicted: Waiter<T> | undefined }
  | { admitted: false; reason: 'client-capacity' | 'capacity' };

/** How many of the least recently active groups are examined for a victim. */
const VICTIM_SAMPLE = 8;

/** Bounded, frequency-aware waiting room. */
export class WaitingRoom<T> {
  readonly #groups = new Map<string, Group<T>>();
  readonly #perClient = new Map<string, number>();
  #size = 0;

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

  /**
   * Admit `w` if there is room, or if it can displace a waiter of a less frequently
   * requested kid. `frequency` estimates how often `w.kid` was asked for recently; groups
   * remember the estimate of their last admission.
   */
  admit(w: Waiter<T>, frequency: number): Admission<T> {
    if (w.clientId !== undefined && (this.#perClient.get(w.clientId) ?? 0) >= this.maxPerClient) {
      return { admitted: false, reason: 'client-capacity' };
    }
    let evicted: Waiter<T> | undefined;
    if (this.#size >= this.maxWaiters) {
      if (this.maxWaiters === 0) return { admitted: false, reason: 'capacity' };
      let victim: Group<T> | undefined;
      let victimKid = '';
      let seen = 0;
      for (const [kid, g] of this.#groups) {
        if (seen++ >= VICTIM_SAMPLE) break;
        if (kid === w.kid) continue;
        if (g.frequency <= frequency && (victim === undefined || g.frequency < victim.frequency)) {
          victim = g;
          victimKid = kid;
        }
      }
      if (victim === undefined) return { admitted: false, reason: 'capacity' };
      evicted = victim.waiters.shift()!;
      this.#forget(evicted);
      if (victim.waiters.length === 0) this.#groups.delete(victimKid);
    }
    const group = this.#groups.get(w.kid);
    if (group) {
      // move the group to the most-recently-active end
      this.#groups.delete(w.kid);
      group.waiters.push(w);
      group.frequency = frequency;
      this.#groups.set(w.kid, group);
    } else {
      this.#groups.set(w.kid, { waiters: [w], frequency });
    }
    this.#size++;
    if (w.clientId !== undefined) this.#perClient.set(w.clientId, (this.#perClient.get(w.clientId) ?? 0) + 1);
    return { admitted: true, evicted };
  }

  #forget(w: Waiter<T>): void {
    this.#size--;
    if (w.clientId !== undefined) {
      const n = (this.#perClient.get(w.clientId) ?? 1) - 1;
      if (n <= 0) this.#perClient.delete(w.clientId);
      else this.#perClient.set(w.clientId, n);
    }
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
    this.#size = 0;
    return all;
  }
}
