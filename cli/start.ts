/**
 * `berth start` (what `npm start` runs): the control plane with the default local database, the
 * cluster `default`, and a local agent joined to it, so a task can be run at once with the aws cli.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAgent } from '../agent';
import type { DatabaseLocation } from '../db/node-database';
import { createCluster } from '../worker/core/clusters/clusters';
import { isValidJoinToken } from '../worker/core/join-tokens/join-tokens';
import { startControlPlane } from '../worker/hosts/node/control-plane';
import { printRunningBanner, stopOnSignals } from './local-berth-banner';
import { mintAuditedJoinToken } from './local-database';

export async function startLocalBerth(settings: { host: string; port: number; database: DatabaseLocation }) {
  const plane = await startControlPlane({ ...settings, bootstrapCredentials: true });
  const deps = plane.deps;
  await createCluster(deps, { clusterName: 'default' });

  // The local agent keeps one token across restarts, stored beside the database.
  const tokenFile = join(settings.database.dataDir, 'local-agent.token');
  let token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  if (!token || !(await isValidJoinToken(deps, 'default', token))) {
    token = await mintAuditedJoinToken(deps, 'default');
    writeFileSync(tokenFile, `${token}\n`);
    chmodSync(tokenFile, 0o600);
  }
  const agent = await startAgent({
    endpoint: plane.url,
    cluster: 'default',
    joinToken: token,
    attributes: [],
    stateDir: join(settings.database.dataDir, 'agent'),
    log: (line) => console.log(`[agent] ${line}`),
  });

  printRunningBanner({
    title: 'Berth is running.',
    endpoint: plane.url,
    cluster: 'default (one local agent)',
    data: settings.database.url ?? join(settings.database.dataDir, 'berth.db'),
    // Absolute, so the printed export line works from any directory.
    credentialsFile: resolve(settings.database.dataDir, 'credentials'),
  });
  stopOnSignals(agent, plane);
}
