/**
 * Entry point of a library process: runs one scenario for one adapter, sends the result to
 * the orchestrator, and exits when told to or when the orchestrator goes away.
 */
import { runScenario } from './scenarios.js';
import type { ChildMessage, RunRequest } from './types.js';

const send = (m: ChildMessage): void => {
  process.send?.(m);
};

process.on('message', (msg: RunRequest | { type: 'stop' }) => {
  if (msg.type === 'stop') process.exit(0);
  if (msg.type !== 'run') return;
  runScenario(msg).then(
    (result) => send({ type: 'result', result }),
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }),
  );
});

process.on('disconnect', () => process.exit(0));
