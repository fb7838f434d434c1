/**
 * `berth audit [--principal P] [--action A] [--cluster C] [--resource R] [--result ok|denied|error]
 * [--since 1h|ISO] [--until ISO] [--limit N] [--json]`: the audit log, newest first, as a table (or
 * JSON with --json). Calls GET /berth/v1/audit (admins), page after page until --limit (default 50).
 */
import { flag, type ParsedArgs } from './args';
import { callBerthApi } from './berth-api-client';
import { parseDuration } from './local-database';

interface AuditEvent {
  time: string;
  principal: string;
  accessKeyId?: string;
  action: string;
  cluster?: string;
  resource: string;
  result: string;
  sourceAddress?: string;
  detail?: Record<string, unknown>;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100_000;
const PAGE = 1_000;

export async function runAudit(args: ParsedArgs, now = Date.now()): Promise<void> {
  const limitText = flag(args, 'limit');
  if (limitText !== undefined && !/^[1-9]\d{0,5}$/.test(limitText)) {
    throw new Error(`audit: --limit '${limitText}' is not a whole number from 1 to ${MAX_LIMIT}`);
  }
  const limit = Math.min(Number(limitText ?? DEFAULT_LIMIT), MAX_LIMIT);
  const result = flag(args, 'result');
  if (result !== undefined && !['ok', 'denied', 'error'].includes(result) && !/^[A-Za-z]+$/.test(result)) {
    throw new Error(`audit: --result '${result}' is not ok, denied, error or an error name`);
  }
  const query = new URLSearchParams();
  for (const name of ['principal', 'action', 'cluster', 'resource']) {
    const value = flag(args, name);
    if (value !== undefined) query.set(name, value);
  }
  if (result !== undefined) query.set('result', result);
  const since = flag(args, 'since');
  if (since !== undefined) query.set('since', timeOf(since, '--since', now));
  const until = flag(args, 'until');
  if (until !== undefined) query.set('until', timeOf(until, '--until', now));

  const events: AuditEvent[] = [];
  let nextToken: string | undefined;
  do {
    query.set('limit', String(Math.min(PAGE, limit - events.length)));
    if (nextToken) query.set('nextToken', nextToken);
    const page = (await callBerthApi(args, 'GET', `/berth/v1/audit?${query}`)) as {
      events: AuditEvent[];
      nextToken?: string;
    };
    events.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken && events.length < limit);

  if (args.flags.has('json')) {
    console.log(JSON.stringify({ events }, null, 2));
    return;
  }
  console.log(auditTable(events));
}

/** `90s`, `15m`, `1h`, `7d` ago, or an ISO 8601 time as given. */
function timeOf(text: string, name: string, now: number): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    if (Number.isNaN(Date.parse(text))) throw new Error(`audit: ${name} '${text}' is not an ISO 8601 time`);
    return text;
  }
  try {
    return new Date(now - parseDuration(text, `audit: ${name}`)).toISOString();
  } catch {
    throw new Error(
      `audit: ${name} '${text}' is neither a duration like 90s, 15m, 1h, 7d nor an ISO 8601 time`,
    );
  }
}

/** A table sized to its content; the detail (join token id, exec command, …) in the last column. */
export function auditTable(events: AuditEvent[]): string {
  if (events.length === 0) return 'no audit events match';
  const rows = events.map((e) => [
    e.time.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'),
    e.accessKeyId ? `${e.principal} (${e.accessKeyId})` : e.principal,
    e.action,
    e.resource,
    e.result,
    e.sourceAddress ?? '-',
    e.detail ? JSON.stringify(e.detail) : '',
  ]);
  const header = ['TIME', 'PRINCIPAL', 'ACTION', 'RESOURCE', 'RESULT', 'SOURCE', 'DETAIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
