/**
 * The audit log's writer and retention against a real libSQL file: calls that finish together share
 * an insert, each waits for its own row, and the purge keeps what is within the retention.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../../db/node-database';
import { auditEvents } from '../../db/schema';
import {
  AuditWriter,
  purgeExpiredAuditEvents,
  queryAuditLog,
  recordExecSession,
} from '../../worker/core/audit/audit-log';
import { type CoreDeps, DEFAULT_BERTH_CONFIG, randomHexId } from '../../worker/core/deps';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('the audit log', () => {
  let dataDir: string;
  let database: OpenDatabase;
  let deps: CoreDeps;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'berth-audit-'));
    database = await openDatabase({ dataDir });
    deps = {
      db: database.db,
      config: { ...DEFAULT_BERTH_CONFIG, auditRetentionDays: 7 },
      now: Date.now,
      newId: randomHexId,
    };
  });
  afterAll(() => {
    database?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('group-commits concurrent calls: every row is written before its call resolves, in far fewer inserts', async () => {
    let inserts = 0;
    const counted: CoreDeps = {
      ...deps,
      db: new Proxy(deps.db, {
        get(target, property, receiver) {
          if (property === 'batch') inserts++;
          return Reflect.get(target, property, receiver);
        },
      }),
    };
    const writer = new AuditWriter(counted, () => {});
    await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        await writer.record({
          principalName: 'load',
          action: 'ecs:RunTask',
          resource: `r-${i}`,
          result: 'Success',
        });
        // Resolved means written: this call's own row is there now.
        const { events } = await queryAuditLog(deps, { resource: `r-${i}`, limit: 1 });
        expect(events).toHaveLength(1);
      }),
    );
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThan(50);
  });

  it('records exec sessions for the exec feature', async () => {
    await recordExecSession(deps, {
      principalName: 'operator',
      accessKeyId: 'BKIAEXAMPLE',
      clusterName: 'default',
      taskArn: 'arn:aws:ecs:us-east-1:000000000000:task/default/abc',
      container: 'main',
      command: '/bin/sh',
      interactive: true,
      result: 'Success',
    });
    const { events } = await queryAuditLog(deps, { action: 'ecs:ExecuteCommand' });
    expect(events[0]).toMatchObject({
      principal: 'operator',
      cluster: 'default',
      resource: 'arn:aws:ecs:us-east-1:000000000000:task/default/abc',
      detail: { container: 'main', command: '/bin/sh', interactive: true },
    });
  });

  it('purges what is older than the retention and keeps the rest', async () => {
    const nowMs = Date.now();
    const row = (atMs: number, principalName: string) => ({
      atMs,
      principalName,
      action: 'ecs:StopTask',
      resource: '*',
      outcome: 'ok' as const,
      result: 'Success',
    });
    await deps.db
      .insert(auditEvents)
      .values([row(nowMs - 8 * DAY_MS, 'expired'), row(nowMs - 6 * DAY_MS, 'kept')]);
    expect(await purgeExpiredAuditEvents(deps, nowMs)).toBe(1);
    expect((await queryAuditLog(deps, { principal: 'expired' })).events).toHaveLength(0);
    expect((await queryAuditLog(deps, { principal: 'kept' })).events).toHaveLength(1);
  });
});
