import { type DatabaseLocation, openDatabase } from '../db/node-database';
import { parseBerthConfig } from '../worker/config';
import { createCluster } from '../worker/core/clusters/clusters';
import { randomHexId } from '../worker/core/deps';
import { mintJoinToken } from '../worker/core/join-tokens/join-tokens';
import { flag, type ParsedArgs } from './args';

export function localDatabase(args: ParsedArgs): DatabaseLocation {
  return {
    dataDir: flag(args, 'data-dir') ?? process.env.BERTH_DATA_DIR ?? './.berth',
    url: flag(args, 'database-url') ?? process.env.BERTH_DATABASE_URL,
    authToken: flag(args, 'database-token') ?? process.env.BERTH_DATABASE_TOKEN,
  };
}

/** Mints a token straight in the database, so it works with or without a running server. */
export async function mintJoinTokenLocally(location: DatabaseLocation, clusterName: string): Promise<string> {
  const database = await openDatabase(location);
  try {
    // Same region and account as the server, so the cluster ARN it may create matches.
    const config = parseBerthConfig(process.env);
    const deps = { db: database.db, config, now: Date.now, newId: randomHexId };
    if (clusterName === 'default') await createCluster(deps, { clusterName });
    return await mintJoinToken(deps, clusterName);
  } finally {
    database.close();
  }
}
