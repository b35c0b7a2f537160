/**
 * A small count-min sketch with periodic halving (the TinyLFU frequency estimate). It tells
 * how often a kid was asked for recently, in constant memory, so that a kid many tokens
 * carry (a real new key) wins admission over a flood of one-off random kids.
 */
export class FrequencySketch {
  readonly #rows: Uint16Array[];
  readonly #mask: number;
  readonly #seeds: number[];
  readonly #resetAfter: number;
  #additions = 0;

  /**
   * @param width - counters per row (rounded up to a power of two). Default 4096.
   * @param random - seeds the hash so an attacker cannot aim collisions at a real kid.
   */
  constructor(width = 4096, random: () => number = Math.random) {
    let w = 1;
    while (w < width) w <<= 1;
    this.#mask = w - 1;
    this.#rows = [0, 1, 2, 3].map(() => new Uint16Array(w));
    this.#seeds = [0, 1, 2, 3].map(() => (Math.floor(random() * 0xffffffff) | 1) >>> 0);
    this.#resetAfter = w * 10;
  }

  #hash(s: string, seed: number): number {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h >>> 0;
  }

  /** Count one occurrence and return the new estimate. */
  add(key: string): number {
    let min = Infinity;
    for (let r = 0; r < 4; r++) {
      const row = this.#rows[r]!;
      const i = this.#hash(key, this.#seeds[r]!) & this.#mask;
      const v = row[i]!;
      if (v < 0xffff) row[i] = v + 1;
      if (row[i]! < min) min = row[i]!;
    }
    if (++this.#additions >= this.#resetAfter) this.#halve();
    return min;
  }

  /** Current estimate (an over-estimate at worst, never an under-estimate before halving). */
  estimate(key: string): number {
    let min = Infinity;
    for (let r = 0; r < 4; r++) {
      const v = this.#rows[r]![this.#hash(key, this.#seeds[r]!) & this.#mask]!;
      if (v < min) min = v;
    }
    return min;
  }

  #halve(): void {
    this.#additions = 0;
    for (const row of this.#rows) for (let i = 0; i < row.length; i++) row[i] = row[i]! >>> 1;
  }
}
