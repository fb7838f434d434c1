/** Starts a real control plane (Node entry, real libSQL file) on a free port, with a real ECS client. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import type { BerthConfig } from '../../worker/core/deps';
import { type RunningControlPlane, startControlPlane } from '../../worker/hosts/node/control-plane';

export interface TestControlPlane {
  plane: RunningControlPlane;
  ecs: ECSClient;
  dataDir: string;
  close(): Promise<void>;
}

export function ecsClientFor(endpoint: string): ECSClient {
  return new ECSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'berth-test', secretAccessKey: 'berth-test' },
    maxAttempts: 1,
  });
}

export async function startTestControlPlane(
  options: { dataDir?: string; config?: Partial<BerthConfig> } = {},
): Promise<TestControlPlane> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'berth-test-'));
  const plane = await startControlPlane({
    database: { dataDir },
    port: 0,
    log: () => {},
    config: options.config,
  });
  const ecs = ecsClientFor(plane.url);
  return {
    plane,
    ecs,
    dataDir,
    close: async () => {
      ecs.destroy();
      await plane.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
