/** `jwks-keeper serve`: the sidecar (placeholder until the sidecar lands). */
import type { Io } from '../cli/output.js';
import { EXIT } from '../cli/output.js';

export const SERVE_HELP = `Usage: jwks-keeper serve [options]\n\nThe sidecar (not built yet).\n\nExit codes: 2 (not available).\n`;

export async function serveCommand(args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(SERVE_HELP);
    return EXIT.OK;
  }
  io.err('jwks-keeper serve: not available yet\n');
  return EXIT.USAGE;
}
