/**
 * The local libSQL HTTP endpoint, driven by the official client in HTTP mode (and by raw Hrana JSON
 * where the client does not reach), against the real libSQL engine on a temporary file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, createClient, LibsqlError } from '@libsql/client';
import { createClient as createWebClient } from '@libsql/client/web';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import Database from 'libsql';
import { afterEach, describe, expect, it } from 'vitest';
import { type LibsqlHttpServer, startLibsqlHttpServer } from '../../db/libsql-http/server';
import { splitStatements } from '../../db/libsql-http/sql-text';
import type { PipelineResponseBody, WireError } from '../../db/libsql-http/wire';
import { MIGRATIONS_FOLDER } from '../../db/node-database';
import { clusters } from '../../db/schema';
import { waitFor } from '../helpers/wait';

const servers: LibsqlHttpServer[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) await server.close();
});

const freshDatabasePath = (): string => join(mkdtempSync(join(tmpdir(), 'berth-libsql-http-')), 'test.db');

async function startServer(
  overrides: Partial<Parameters<typeof startLibsqlHttpServer>[0]> = {},
): Promise<LibsqlHttpServer> {
  const server = await startLibsqlHttpServer({ databasePath: freshDatabasePath(), port: 0, ...overrides });
  servers.push(server);
  return server;
}

function clientFor(
  server: LibsqlHttpServer,
  config: Partial<Parameters<typeof createClient>[0]> = {},
): Client {
  const client = createClient({ url: server.url, ...config });
  clients.push(client);
  return client;
}

async function countRows(client: Client, table: string): Promise<number> {
  const result = await client.execute(`SELECT count(*) AS n FROM ${table}`);
  return Number(result.rows[0].n);
}

/** One raw Hrana-over-HTTP pipeline request, for what the client library does not expose. */
interface RawReply {
  status: number;
  json: PipelineResponseBody & Partial<WireError>;
}

async function pipeline(server: LibsqlHttpServer, body: unknown): Promise<RawReply> {
  const response = await fetch(`${server.url}/v3/pipeline`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as RawReply['json'] };
}

const textValue = (value: string) => ({ type: 'text', value });
const execute = (sql: string, extra: Record<string, unknown> = {}) => ({
  type: 'execute',
  stmt: { sql, ...extra },
});

describe('the libSQL HTTP endpoint, through @libsql/client in HTTP mode', () => {
  it('inserts with positional and named arguments and reads every SQLite type back', async () => {
    const client = clientFor(await startServer(), { intMode: 'bigint' });
    await client.execute(
      'CREATE TABLE things (id INTEGER PRIMARY KEY, label TEXT, ratio REAL, raw BLOB, big INTEGER)',
    );
    const first = await client.execute({
      sql: 'INSERT INTO things (label, ratio, raw, big) VALUES (?, ?, ?, ?)',
      args: ['héllo; world', 1.5, new Uint8Array([0, 1, 254, 255]), 9_007_199_254_740_993n],
    });
    const second = await client.execute({
      sql: 'INSERT INTO things (label, ratio, raw, big) VALUES (:label, $ratio, @raw, :big)',
      args: { label: 'named', ratio: null, raw: null, big: -(2n ** 63n) },
    });

    expect(first).toMatchObject({ rowsAffected: 1, lastInsertRowid: 1n });
    expect(second).toMatchObject({ rowsAffected: 1, lastInsertRowid: 2n });
    const result = await client.execute('SELECT id, label, ratio, raw, big FROM things ORDER BY id');
    expect(result.columns).toEqual(['id', 'label', 'ratio', 'raw', 'big']);
    expect(result.columnTypes).toEqual(['INTEGER', 'TEXT', 'REAL', 'BLOB', 'INTEGER']);
    expect(result.rowsAffected).toBe(0);
    const [one, two] = result.rows;
    expect([one.id, one.label, one.ratio, one.big]).toEqual([
      1n,
      'héllo; world',
      1.5,
      9_007_199_254_740_993n,
    ]);
    expect([...new Uint8Array(one.raw as ArrayBuffer)]).toEqual([0, 1, 254, 255]);
    expect([two.id, two.label, two.ratio, two.raw, two.big]).toEqual([2n, 'named', null, null, -(2n ** 63n)]);
  });

  it('reads integers as JavaScript numbers with the default intMode', async () => {
    const client = clientFor(await startServer());
    const result = await client.execute({ sql: 'SELECT ? + 1 AS next, typeof(?) AS kind', args: [41n, 2.5] });
    expect(result.rows[0]).toMatchObject({ next: 42, kind: 'real' });
  });

  it('runs a write batch atomically: one failing statement rolls the whole batch back', async () => {
    const client = clientFor(await startServer());
    await client.execute('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    const results = await client.batch(
      [
        { sql: 'INSERT INTO items (id, name) VALUES (?, ?)', args: [1, 'first'] },
        'SELECT count(*) AS n FROM items',
      ],
      'write',
    );
    expect(results[1].rows[0].n).toBe(1);

    const failing = client.batch(
      [
        { sql: 'INSERT INTO items (id, name) VALUES (?, ?)', args: [2, 'second'] },
        { sql: 'INSERT INTO items (id, name) VALUES (?, ?)', args: [1, 'duplicate id'] },
      ],
      'write',
    );
    await expect(failing).rejects.toBeInstanceOf(LibsqlError);
    await expect(failing).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
    expect(await countRows(client, 'items')).toBe(1);
  });

  it('commits an interactive transaction, whose writes other streams see only after the commit', async () => {
    const server = await startServer();
    const client = clientFor(server);
    const observer = clientFor(server);
    await client.execute('CREATE TABLE ledger (amount INTEGER)');
    const transaction = await client.transaction('write');
    await transaction.execute({ sql: 'INSERT INTO ledger VALUES (?)', args: [10] });
    expect((await transaction.execute('SELECT sum(amount) AS total FROM ledger')).rows[0].total).toBe(10);
    expect(await countRows(observer, 'ledger')).toBe(0);

    await transaction.commit();
    expect(await countRows(observer, 'ledger')).toBe(1);
  });

  it('rolls an interactive transaction back', async () => {
    const client = clientFor(await startServer());
    await client.execute('CREATE TABLE ledger (amount INTEGER)');
    const transaction = await client.transaction('write');
    await transaction.execute({ sql: 'INSERT INTO ledger VALUES (?)', args: [10] });
    await transaction.rollback();
    expect(await countRows(client, 'ledger')).toBe(0);
  });

  it('makes a write wait for the lock another stream holds instead of failing with SQLITE_BUSY', async () => {
    const server = await startServer();
    const holder = clientFor(server);
    const waiter = clientFor(server);
    await holder.execute('CREATE TABLE queue (who TEXT)');
    const transaction = await holder.transaction('write');
    await transaction.execute("INSERT INTO queue VALUES ('holder')");

    const waitingInsert = waiter.execute("INSERT INTO queue VALUES ('waiter')");
    await transaction.commit();
    await waitingInsert;
    const rows = (await waiter.execute('SELECT who FROM queue ORDER BY rowid')).rows.map((row) => row.who);
    expect(rows).toEqual(['holder', 'waiter']);
  });

  it('retries a write while a connection outside the server holds the lock, and keeps the write', async () => {
    const databasePath = freshDatabasePath();
    const server = await startServer({ databasePath });
    const client = clientFor(server);
    await client.execute('CREATE TABLE shared (who TEXT)');
    // Opened beside the server, as another process sharing the file would be.
    const outside = new Database(databasePath);
    outside.exec("BEGIN IMMEDIATE; INSERT INTO shared VALUES ('outside')");
    let settled = false;
    const retried = client.execute("INSERT INTO shared VALUES ('client')").finally(() => {
      settled = true;
    });
    expect((await clientFor(server).execute('SELECT count(*) AS n FROM shared')).rows[0].n).toBe(0);
    expect(settled).toBe(false);

    outside.exec('COMMIT');
    await retried;
    await client.execute("INSERT INTO shared VALUES ('later')");
    const seenOutside = outside.prepare('SELECT who FROM shared ORDER BY rowid').raw(true).all([]);
    outside.close();
    expect(seenOutside).toEqual([['outside'], ['client'], ['later']]);
  });

  it('runs several statements with executeMultiple, including a trigger whose body has semicolons', async () => {
    const client = clientFor(await startServer());
    await client.executeMultiple(`
      CREATE TABLE notes (body TEXT); -- a comment; with a semicolon
      CREATE TABLE audit (what TEXT);
      CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN
        INSERT INTO audit VALUES ('note: ' || CASE WHEN NEW.body = '' THEN 'empty' ELSE NEW.body END);
      END;
      INSERT INTO notes VALUES ('a;b');
    `);
    expect((await client.execute('SELECT what FROM audit')).rows[0].what).toBe('note: a;b');
  });

  it('surfaces SQL errors as LibsqlError with SQLite code and message', async () => {
    const client = clientFor(await startServer());
    await expect(client.execute('SELEC 1')).rejects.toMatchObject({
      name: 'LibsqlError',
      code: 'SQLITE_ERROR',
      message: expect.stringContaining('syntax error'),
    });
    await expect(client.execute('SELECT * FROM missing_table')).rejects.toMatchObject({
      code: 'SQLITE_ERROR',
      message: expect.stringContaining('no such table: missing_table'),
    });
  });

  it('rejects a wrong or missing auth token and serves the right one', async () => {
    const server = await startServer({ authToken: 'sesame' });
    await expect(clientFor(server, { authToken: 'wrong' }).execute('SELECT 1')).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(clientFor(server).execute('SELECT 1')).rejects.toBeInstanceOf(LibsqlError);
    const result = await clientFor(server, { authToken: 'sesame' }).execute('SELECT 1 AS one');
    expect(result.rows[0].one).toBe(1);
  });

  it('keeps acknowledged writes across a server restart on the same file', async () => {
    const databasePath = freshDatabasePath();
    const before = await startLibsqlHttpServer({ databasePath, port: 0 });
    const writer = createClient({ url: before.url });
    await writer.execute('CREATE TABLE kept (value TEXT)');
    await writer.execute({ sql: 'INSERT INTO kept VALUES (?)', args: ['survives'] });
    writer.close();
    await before.close();

    const after = await startServer({ databasePath });
    const result = await clientFor(after).execute('SELECT value FROM kept');
    expect(result.rows.map((row) => row.value)).toEqual(['survives']);
  });

  it('runs every connection in WAL mode with synchronous=FULL', async () => {
    const client = clientFor(await startServer());
    expect((await client.execute('PRAGMA journal_mode')).rows[0][0]).toBe('wal');
    expect((await client.execute('PRAGMA synchronous')).rows[0][0]).toBe(2);
  });

  it('serves @libsql/client/web, the client the Workers build uses', async () => {
    const server = await startServer();
    const client = createWebClient({ url: server.url });
    clients.push(client);
    await client.batch(['CREATE TABLE web (n INTEGER)', 'INSERT INTO web VALUES (7)'], 'write');
    expect((await client.execute('SELECT n FROM web')).rows[0].n).toBe(7);
  });

  it("serves drizzle-orm: the project's migrations apply and a typed select reads a row", async () => {
    const db = drizzle(clientFor(await startServer()));
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    const cluster = {
      arn: 'arn:aws:ecs:local:000000000000:cluster/default',
      name: 'default',
      status: 'ACTIVE' as const,
      createdAtMs: 1_700_000_000_000,
    };
    await db.insert(clusters).values(cluster);
    const found = await db.select().from(clusters).where(eq(clusters.name, 'default'));
    expect(found).toEqual([
      {
        ...cluster,
        tagsJson: '[]',
        settingsJson: '[]',
        capacityProvidersJson: '[]',
        defaultCapacityProviderStrategyJson: '[]',
        configurationJson: '{}',
        serviceConnectDefaultsJson: null,
        containerPolicyJson: '{"allow":[],"hostPaths":[]}',
      },
    ]);
  });
});

describe('the libSQL HTTP endpoint, in raw Hrana JSON', () => {
  it('stores SQL, describes statements, reports autocommit, evaluates batch conditions and closes', async () => {
    const server = await startServer();
    const opened = await pipeline(server, {
      baton: null,
      requests: [
        execute('CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT)'),
        { type: 'store_sql', sql_id: 1, sql: 'INSERT INTO pets (name) VALUES (:name)' },
        { type: 'execute', stmt: { sql_id: 1, named_args: [{ name: 'name', value: textValue('rex') }] } },
        { type: 'describe', sql: 'SELECT id, name AS pet FROM pets WHERE id = ?1 OR name = :name' },
        { type: 'describe', sql: 'DELETE FROM pets' },
        execute('BEGIN'),
        { type: 'get_autocommit' },
      ],
    });
    expect(opened.status).toBe(200);
    expect(opened.json.baton).toEqual(expect.any(String));
    expect(opened.json.results).toMatchObject([
      { type: 'ok', response: { type: 'execute' } },
      { type: 'ok', response: { type: 'store_sql' } },
      {
        type: 'ok',
        response: { type: 'execute', result: { affected_row_count: 1, last_insert_rowid: '1' } },
      },
      {
        type: 'ok',
        response: {
          type: 'describe',
          result: {
            params: [{ name: '?1' }, { name: ':name' }],
            cols: [
              { name: 'id', decltype: 'INTEGER' },
              { name: 'pet', decltype: 'TEXT' },
            ],
            is_explain: false,
            is_readonly: true,
          },
        },
      },
      { type: 'ok', response: { type: 'describe', result: { params: [], cols: [], is_readonly: false } } },
      { type: 'ok', response: { type: 'execute' } },
      { type: 'ok', response: { type: 'get_autocommit', is_autocommit: false } },
    ]);

    const continued = await pipeline(server, {
      baton: opened.json.baton,
      requests: [
        {
          type: 'batch',
          batch: {
            steps: [
              { stmt: { sql: 'INSERT INTO pets (id, name) VALUES (1, ?)', args: [textValue('dup')] } },
              { condition: { type: 'error', step: 0 }, stmt: { sql: 'ROLLBACK' } },
              { condition: { type: 'ok', step: 0 }, stmt: { sql: 'COMMIT' } },
              { condition: { type: 'is_autocommit' }, stmt: { sql: 'SELECT count(*) FROM pets' } },
            ],
          },
        },
        { type: 'close' },
        execute('SELECT 1'),
      ],
    });
    const onlyRow = [[{ type: 'integer', value: '1' }]];
    expect(continued.json.results).toMatchObject([
      {
        type: 'ok',
        response: {
          type: 'batch',
          result: {
            step_results: [null, { cols: [], rows: [] }, null, { rows: onlyRow }],
            step_errors: [{ code: 'SQLITE_CONSTRAINT' }, null, null, null],
          },
        },
      },
      { type: 'ok', response: { type: 'close' } },
      { type: 'error', error: { code: 'STREAM_CLOSED' } },
    ]);
    expect(continued.json.baton).toBeNull();
  });

  it('closes a stream left idle, rolling back its transaction, and refuses its baton afterwards', async () => {
    const server = await startServer({ streamIdleTimeoutMs: 200 });
    const client = clientFor(server);
    await client.execute('CREATE TABLE jobs (name TEXT)');
    const abandoned = await pipeline(server, {
      baton: null,
      requests: [execute('BEGIN IMMEDIATE'), execute("INSERT INTO jobs VALUES ('abandoned')")],
    });

    // Succeeds only once the idle stream has been closed and its write lock released.
    await client.execute("INSERT INTO jobs VALUES ('next')");
    expect((await client.execute('SELECT name FROM jobs')).rows.map((row) => row.name)).toEqual(['next']);
    const late = await pipeline(server, { baton: abandoned.json.baton, requests: [execute('COMMIT')] });
    expect(late).toEqual({ status: 400, json: expect.objectContaining({ code: 'STREAM_EXPIRED' }) });
  });

  it('still commits the writes of a stream that ran an EXPLAIN first', async () => {
    const server = await startServer();
    const client = clientFor(server);
    await client.execute('CREATE TABLE events (kind TEXT)');
    await pipeline(server, {
      baton: null,
      requests: [
        execute("EXPLAIN INSERT INTO events VALUES ('x')"),
        execute('INSERT INTO events VALUES (:kind)', {
          named_args: [{ name: ':kind', value: textValue('y') }],
        }),
        { type: 'close' },
      ],
    });
    expect((await client.execute('SELECT kind FROM events')).rows.map((row) => row.kind)).toEqual(['y']);
  });

  it('answers a malformed request in its own result slot and a malformed body with HTTP 400', async () => {
    const server = await startServer();
    const reply = await pipeline(server, { baton: null, requests: [{ type: 'fly' }, execute('SELECT 1')] });
    expect(reply.json.results).toMatchObject([
      { type: 'error', error: { code: 'PROTOCOL_ERROR' } },
      { type: 'ok', response: { type: 'execute' } },
    ]);
    expect((await pipeline(server, { requests: 'nope' })).status).toBe(400);
  });
});

describe('the libSQL HTTP endpoint CLI', () => {
  it('serves a file given on the command line until it is sent SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'db/libsql-http/main.ts', '--db', freshDatabasePath(), '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await waitFor('the CLI to print its URL', () => /(http:\/\/\S+)/.exec(output)?.[1]);
    const client = createClient({ url });
    clients.push(client);
    expect((await client.execute('SELECT 40 + 2 AS answer')).rows[0].answer).toBe(42);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('splitStatements', () => {
  it('splits on semicolons outside strings, identifiers, comments and trigger bodies', () => {
    const sql = `SELECT 'a;b', "c;d", [e;f]; /* ; */ -- ;
      ;; CREATE TEMP TRIGGER t AFTER DELETE ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; DELETE FROM y; END;
      SELECT 3`;
    expect(splitStatements(sql)).toEqual([
      `SELECT 'a;b', "c;d", [e;f]`,
      'CREATE TEMP TRIGGER t AFTER DELETE ON x BEGIN SELECT CASE WHEN 1 THEN 2 END; DELETE FROM y; END',
      'SELECT 3',
    ]);
    expect(splitStatements(' -- only a comment\n ; ')).toEqual([]);
  });
});
