/**
 * `berth exec` and `berth logs`, through the Berth API (worker/api/task-streams.ts):
 *
 *   berth exec --cluster C --task T [--container NAME] -- CMD ARGS…
 *       prints the command's stdout to stdout and its stderr to stderr, exits with its exit code
 *   berth exec -it --cluster C --task T [--container NAME] [-- CMD ARGS…]
 *       an interactive session over ExecuteCommand's data channel, as the aws cli's plugin does
 *   berth logs --cluster C --task T [--container NAME] [--follow] [--since 10m|<unix s>|<ISO>]
 *       [--tail N] [--timestamps]
 */
import { RECORD_TYPES, readRecords } from '../worker/core/streams/record-stream';
import { flag, type ParsedArgs, parseArgs } from './args';
import { fetchBerthApi } from './berth-api-client';

/** Exit code when the command's own exit code is unknown (the stream ended in an error). */
const EXIT_UNKNOWN = 255;

function writeOut(stream: NodeJS.WriteStream, payload: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(payload)) resolve();
    else stream.once('drain', () => resolve());
  });
}

/** Prints a record stream; resolves to the exit code of its end record. */
async function printRecords(response: Response): Promise<number> {
  if (!response.ok) {
    const answer = (await response.json().catch(() => ({}))) as { __type?: string; message?: string };
    throw new Error(`${answer.__type ?? `HTTP ${response.status}`}: ${answer.message ?? ''}`);
  }
  let exitCode: number = EXIT_UNKNOWN;
  let ended = false;
  await readRecords(response.body!, async (type, payload) => {
    if (type === RECORD_TYPES.stdout) await writeOut(process.stdout, payload);
    else if (type === RECORD_TYPES.stderr) await writeOut(process.stderr, payload);
    else if (type === RECORD_TYPES.end) {
      ended = true;
      const end = JSON.parse(new TextDecoder().decode(payload)) as {
        exitCode?: number | null;
        error?: { name: string; message: string };
      };
      if (end.error) {
        process.stderr.write(`berth: ${end.error.name}: ${end.error.message}\n`);
        exitCode = EXIT_UNKNOWN;
      } else exitCode = end.exitCode ?? 0;
    }
  });
  if (!ended) throw new Error('the stream ended before the command did');
  return exitCode;
}

/** Splits `berth exec` argv at `--` and reads the single-dash `-it`/`-i`/`-t` flags. */
export function splitExecArgv(argv: string[]): { args: ParsedArgs; command: string[]; interactive: boolean } {
  const dashes = argv.indexOf('--');
  const before = dashes === -1 ? argv : argv.slice(0, dashes);
  const command = dashes === -1 ? [] : argv.slice(dashes + 1);
  const short = new Set(['-it', '-ti', '-i', '-t', '--interactive', '--tty']);
  const interactive = before.some((a) => short.has(a));
  return { args: parseArgs(before.filter((a) => !short.has(a))), command, interactive };
}

export async function runExec(argv: string[]): Promise<number> {
  const { args, command, interactive } = splitExecArgv(argv);
  const task = flag(args, 'task');
  if (!task) throw new Error('exec: --task <id or ARN> is required');
  const cluster = flag(args, 'cluster') ?? 'default';
  const container = flag(args, 'container');
  if (interactive) {
    const { runInteractiveExec } = await import('./interactive-exec');
    return runInteractiveExec(args, { cluster, task, container, command });
  }
  if (command.length === 0)
    throw new Error('exec: the command goes after --, e.g. berth exec --task T -- ls /');
  const response = await fetchBerthApi(
    args,
    'POST',
    `/berth/v1/clusters/${encodeURIComponent(cluster)}/tasks/${encodeURIComponent(task)}/exec`,
    { command, ...(container ? { container } : {}) },
  );
  return printRecords(response);
}

/** `--since`: a duration back from now (90s, 10m, 2h), Unix seconds, or an ISO date. */
export function parseSince(value: string, nowMs = Date.now()): number {
  const duration = /^(\d+)(s|m|h|d)$/.exec(value);
  if (duration) {
    const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return Math.floor(nowMs / 1000) - Number(duration[1]) * unit;
  }
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new Error(`logs: --since '${value}' is not a duration (10m), Unix seconds or a date`);
  return Math.floor(ms / 1000);
}

export async function runLogs(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const task = flag(args, 'task');
  if (!task) throw new Error('logs: --task <id or ARN> is required');
  const cluster = flag(args, 'cluster') ?? 'default';
  const query = new URLSearchParams();
  const container = flag(args, 'container');
  if (container) query.set('container', container);
  if (flag(args, 'follow') === 'true') query.set('follow', '1');
  if (flag(args, 'timestamps') === 'true') query.set('timestamps', '1');
  const tail = flag(args, 'tail');
  if (tail !== undefined) {
    if (!/^\d+$/.test(tail)) throw new Error(`logs: --tail '${tail}' is not a number`);
    query.set('tail', tail);
  }
  const since = flag(args, 'since');
  if (since !== undefined) query.set('since', String(parseSince(since)));
  const response = await fetchBerthApi(
    args,
    'GET',
    `/berth/v1/clusters/${encodeURIComponent(cluster)}/tasks/${encodeURIComponent(task)}/logs?${query}`,
  );
  const result = await printRecords(response);
  return result === EXIT_UNKNOWN ? 1 : 0;
}
