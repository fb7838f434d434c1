/** Placeholder replaced below. */
import type { ParsedArgs } from './args';

export async function runInteractiveExec(
  _args: ParsedArgs,
  _target: { cluster: string; task: string; container?: string; command: string[] },
): Promise<number> {
  throw new Error('exec -it: not available yet');
}
