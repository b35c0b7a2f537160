/**
 * Simulated time for libraries that take no injected clock. @sinonjs/fake-timers replaces
 * `Date` (so `Date.now()` and `new Date()` jump forward), and `performance.now` is patched on
 * the original `performance` object (lru-cache, under jwks-rsa and get-jwks, keeps a reference
 * to that object for its TTLs, so replacing the global would not reach it), and so is
 * `process.hrtime` (read by the token bucket behind jwks-rsa's `rateLimit`). Timers are not
 * faked: sockets and the libraries' own timeouts run in real time, and none of these libraries
 * needs a timer to fire to expire its cache (expiry is checked lazily on the next lookup).
 */
import FakeTimers from '@sinonjs/fake-timers';

export class TimeWarp {
  #clock: ReturnType<typeof FakeTimers.install> | undefined;
  #offset = 0;
  #origNow: (() => number) | undefined;
  #origHrtime: typeof process.hrtime | undefined;

  install(): void {
    const perf = globalThis.performance;
    const orig = perf.now.bind(perf);
    this.#origNow = orig;
    this.#clock = FakeTimers.install({ now: Date.now(), toFake: ['Date'], shouldAdvanceTime: true, advanceTimeDelta: 5 });
    Object.defineProperty(perf, 'now', { value: () => orig() + this.#offset, configurable: true, writable: true });
    // the `limiter` package under jwks-rsa's rateLimit reads process.hrtime()
    const hr = process.hrtime;
    this.#origHrtime = hr;
    const shifted = ((prev?: [number, number]): [number, number] => {
      const ns = hr.bigint() + BigInt(Math.round(this.#offset * 1e6));
      let s = Number(ns / 1_000_000_000n);
      let n = Number(ns % 1_000_000_000n);
      if (prev) {
        s -= prev[0];
        n -= prev[1];
        if (n < 0) {
          s--;
          n += 1e9;
        }
      }
      return [s, n];
    }) as typeof process.hrtime;
    shifted.bigint = () => hr.bigint() + BigInt(Math.round(this.#offset * 1e6));
    process.hrtime = shifted;
  }

  /** Jump every clock forward by `ms`. */
  jump(ms: number): void {
    this.#offset += ms;
    this.#clock?.tick(ms);
  }

  uninstall(): void {
    this.#clock?.uninstall();
    if (this.#origHrtime) process.hrtime = this.#origHrtime;
    if (this.#origNow) Object.defineProperty(globalThis.performance, 'now', { value: this.#origNow, configurable: true, writable: true });
  }
}
