/**
 * Opens Berth's database from Node: a local libSQL file by default, or a remote libSQL server
 * (sqld, Turso) by URL and token. Migrations are applied on open.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import type { Db } from '../worker/core/deps';
import * as schema from './schema';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

export interface DatabaseLocation {
  /** A libSQL URL (file:, http(s):, libsql:). Defaults to a file in dataDir. */
  url?: string;
  authToken?: string;
  dataDir: string;
}

export interface OpenDatabase {
  db: Db;
  client: Client;
  url: string;
  close(): void;
}

export function databaseUrlFor(location: DatabaseLocation): string {
  if (location.url) return location.url;
  mkdirSync(location.dataDir, { recursive: true });
  return `file:${join(location.dataDir, 'berth.db')}`;
}

export async function openDatabase(location: DatabaseLocation): Promise<OpenDatabase> {
  const url = databaseUrlFor(location);
  const client = createClient({ url, authToken: location.authToken });
  if (url.startsWith('file:')) {
    // WAL keeps readers off the writer's back; synchronous=FULL makes every acknowledged commit
    // survive a power cut, not only a process crash.
    await client.execute('PRAGMA journal_mode=WAL');
    await client.execute('PRAGMA synchronous=FULL');
    await client.execute('PRAGMA busy_timeout=5000');
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return { db, client, url, close: () => client.close() };
}
