/** A small client for the IdP's control port (JSON over loopback HTTP). */
import type { IdpMode, IdpState, LogEntry, MintCommand, RotateCommand, RotateResult } from './idp-server.js';

export interface IdpEndpoints {
  /** The JWKS URL libraries are configured with. */
  jwksUrl: string;
  /** Base URL of the public port (discovery lives under it). */
  baseUrl: string;
  /** Base URL of the control port. */
  controlUrl: string;
}

export class IdpControl {
  constructor(readonly endpoints: IdpEndpoints) {}

  async #call<T>(path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.endpoints.controlUrl + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`IdP control ${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  state(): Promise<IdpState> {
    return this.#call('/state');
  }
  log(): Promise<{ log: LogEntry[]; counters: IdpState['counters'] }> {
    return this.#call('/log');
  }
  reset(): Promise<IdpState> {
    return this.#call('/reset', {});
  }
  publish(kids: string[]): Promise<IdpState> {
    return this.#call('/publish', { kids });
  }
  mode(mode: IdpMode, slowMs?: number): Promise<IdpState> {
    return this.#call('/mode', { mode, slowMs });
  }
  maxAge(maxAgeSec: number): Promise<IdpState> {
    return this.#call('/max-age', { maxAgeSec });
  }
  rotate(cmd: RotateCommand): Promise<RotateResult> {
    return this.#call('/rotate', cmd);
  }
  async mint(cmd: MintCommand): Promise<string[]> {
    return (await this.#call<{ tokens: string[] }>('/mint', cmd)).tokens;
  }
}
