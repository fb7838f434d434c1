/** Starts a real control plane (Node entry, real libSQL file) on a free port, with a real ECS client. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { BerthConfig } from '../../worker/core/deps';
import { type RunningControlPlane, startControlPlane } from '../../worker/hosts/node/control-plane';
import { createTestKey, type TestCredentials } from './credentials';

export interface TestControlPlane {
  plane: RunningControlPlane;
  ecs: ECSClient;
  dataDir: string;
  /** An admin key the ECS client signs with; raw HTTP tests sign with it too (credentials.ts). */
  credentials: TestCredentials;
  close(): Promise<void>;
}

export function ecsClientFor(endpoint: string, credentials: TestCredentials): ECSClient {
  return new ECSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
}

export async function startTestControlPlane(
  options: { dataDir?: string; config?: Partial<BerthConfig> } = {},
): Promise<TestControlPlane> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'berth-test-'));
  const plane = await startControlPlane({
    database: { dataDir },
    port: 0,
    log: () => {},
    // Tests fire calls faster than any client would: no per-key limits unless a test sets them.
    config: { apiRequestsPerSecondPerKey: 0, eventStreamsPerKey: 0, ...options.config },
  });
  const credentials = await createTestKey(plane.deps, plane.serverKey);
  const ecs = ecsClientFor(plane.url, credentials);
  return {
    plane,
    ecs,
    dataDir,
    credentials,
    close: async () => {
      ecs.destroy();
      await plane.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
