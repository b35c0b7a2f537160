/**
 * How often each kid was asked for recently, exactly, in bounded memory.
 *
 * A recency-ordered map from a seeded 32-bit hash of the kid to its count: every lookup moves
 * its kid to the most-recent end; the least recently seen kids are forgotten first when the
 * map is full. One-off random kids pass through with a count of 1 and are forgotten; a kid
 * that many tokens carry (a real new key) stays and its count grows. Hashing keeps an entry
 * small whatever the kid's length; the random seed stops an attacker from aiming collisions.
 * (A count-min sketch was tried first: under a flood of distinct kids its noise floor rose
 * above the count of a real kid's first tokens.)
 */
export class RecentFrequency {
  readonly #counts = new Map<number, number>();
  readonly #capacity: number;
  readonly #seed: number;

  /**
   * @param capacity - kids remembered at most (≈ 40 bytes each).
   * @param random - seeds the hash.
   */
  constructor(capacity: number, random: () => number = Math.random) {
    this.#capacity = Math.max(1, capacity);
    this.#seed = Math.floor(random() * 0xffffffff) >>> 0;
  }

  #hash(s: string): number {
    let h = (0x811c9dc5 ^ this.#seed) >>> 0;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  }

  /** Count one occurrence of `key` and return its count. */
  add(key: string): number {
    const h = this.#hash(key);
    const n = (this.#counts.get(h) ?? 0) + 1;
    this.#counts.delete(h);
    if (this.#counts.size >= this.#capacity) {
      const oldest = this.#counts.keys().next().value;
      if (oldest !== undefined) this.#counts.delete(oldest);
    }
    this.#counts.set(h, Math.min(n, 0x3fffffff));
    return n;
  }

  /** Current count of `key` (0 when forgotten). */
  estimate(key: string): number {
    return this.#counts.get(this.#hash(key)) ?? 0;
  }

  /** Kids remembered now. */
  get size(): number {
    return this.#counts.size;
  }
}
