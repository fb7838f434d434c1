/**
 * The Berth API for the audit log, what `berth audit` calls (admins: `berth:ReadAuditLog`):
 *
 *   GET /berth/v1/audit?principal=P&action=A&cluster=C&resource=R&result=ok|denied|error|<ErrorName>
 *                      &since=ISO&until=ISO&limit=N&nextToken=T
 *       → {"events": [...], "nextToken"?: T}   newest first, at most `limit` (default 100, max 1000)
 *
 * `action` may end in `*` (`ecs:Run*`). A filter Berth doesn't know, or a malformed one, is an
 * InvalidParameterException naming it. The built-in read-only policy does not allow this action:
 * it names `berth:ReadTaskEvents`, not `berth:Read*`, because the log holds every principal's
 * activity and source addresses.
 */
import type { Context, Hono } from 'hono';
import { MAX_AUDIT_PAGE, queryAuditLog } from '../core/audit/audit-log';
import type { CoreDeps } from '../core/deps';
import { invalidParameter } from '../core/errors';
import { jsonAnswer } from './berth-api-json';

export const AUDIT_ACTIONS = { read: 'berth:ReadAuditLog' } as const;

const FILTERS = [
  'principal',
  'action',
  'cluster',
  'resource',
  'result',
  'since',
  'until',
  'limit',
  'nextToken',
];
const MAX_FILTER_LENGTH = 1024;

export function serveAuditLog(app: Hono, options: { deps: CoreDeps; log: (line: string) => void }) {
  app.get(
    '/berth/v1/audit',
    jsonAnswer(options.log)(async (c) => queryAuditLog(options.deps, auditQueryOf(c))),
  );
}

function auditQueryOf(c: Context) {
  const params = new URL(c.req.url).searchParams;
  const value = (name: string): string | undefined => {
    const all = params.getAll(name);
    if (all.length === 0) return undefined;
    if (all.length > 1) throw invalidParameter(`${name}: given ${all.length} times; give it once`);
    const text = all[0]!;
    if (text === '' || text.length > MAX_FILTER_LENGTH) {
      throw invalidParameter(`${name}: must be 1 to ${MAX_FILTER_LENGTH} characters`);
    }
    return text;
  };
  for (const name of params.keys()) {
    // A query-string signature travels as X-Amz-* parameters.
    if (!FILTERS.includes(name) && !name.startsWith('X-Amz-')) {
      throw invalidParameter(`${name.slice(0, 64)}: not an audit filter (${FILTERS.join(', ')})`);
    }
  }
  const result = value('result');
  if (result !== undefined && !/^[A-Za-z]{1,128}$/.test(result)) {
    throw invalidParameter('result: must be ok, denied, error or an error name');
  }
  const action = value('action');
  if (action !== undefined && !/^[A-Za-z0-9-]+:[A-Za-z0-9]*\*?$/.test(action)) {
    throw invalidParameter(`action: '${action.slice(0, 64)}' is not service:Action (a trailing * allowed)`);
  }
  const limit = value('limit');
  if (limit !== undefined && !/^\d{1,7}$/.test(limit)) {
    throw invalidParameter(`limit: must be a whole number from 1 to ${MAX_AUDIT_PAGE}`);
  }
  return {
    principal: value('principal'),
    action,
    cluster: value('cluster'),
    resource: value('resource'),
    result,
    sinceMs: timeOf(value('since'), 'since'),
    untilMs: timeOf(value('until'), 'until'),
    limit: limit === undefined ? undefined : Number(limit),
    nextToken: value('nextToken'),
  };
}

/** An ISO 8601 time (`2026-11-29T12:00:00Z`, `2026-11-29`) → epoch ms. */
function timeOf(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidParameter(`${name}: '${text.slice(0, 64)}' is not an ISO 8601 time`);
  return ms;
}
