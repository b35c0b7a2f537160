/**
 * Entry point of the IdP child process (forked by procs.ts). Receives its keys over IPC,
 * starts the servers, reports its URLs, and exits when its parent goes away.
 */
import type { KeySpec } from './keys.js';
import { IdpServer } from './idp-server.js';

export interface IdpInit {
  type: 'init';
  keys: KeySpec[];
  published: string[];
  maxAgeSec?: number;
}

export interface IdpReady {
  type: 'ready';
  jwksUrl: string;
  baseUrl: string;
  controlUrl: string;
}

let server: IdpServer | undefined;

process.on('message', (msg: IdpInit | { type: 'stop' }) => {
  void (async () => {
    if (msg.type === 'init') {
      server = new IdpServer(msg.keys, msg.published);
      if (msg.maxAgeSec !== undefined) server.maxAgeSec = msg.maxAgeSec;
      await server.start();
      const ready: IdpReady = { type: 'ready', jwksUrl: server.jwksUrl, baseUrl: server.baseUrl, controlUrl: server.controlUrl };
      process.send?.(ready);
    } else if (msg.type === 'stop') {
      await server?.stop();
      process.exit(0);
    }
  })().catch((err: unknown) => {
    console.error('idp:', err);
    process.exit(1);
  });
});

// never outlive the parent
process.on('disconnect', () => process.exit(0));
