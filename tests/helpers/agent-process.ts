/** Runs the real agent as its own process (`berth agent ...`), as it runs on a host. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BerthProcess, spawnBerth } from './berth-process';

export interface AgentProcess extends BerthProcess {
  stateDir: string;
}

export interface AgentProcessOptions {
  endpoint: string;
  cluster: string;
  joinToken: string;
  stateDir?: string;
  attributes?: string[];
  cpu?: number;
  memoryMiB?: number;
  /** Extra environment, e.g. DOCKER_HOST or BERTH_AGENT_FAULT. */
  env?: Record<string, string>;
}

export function spawnAgent(options: AgentProcessOptions): AgentProcess {
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'berth-agent-'));
  const args = [
    'agent',
    '--endpoint',
    options.endpoint,
    '--cluster',
    options.cluster,
    '--join-token',
    options.joinToken,
    '--state-dir',
    stateDir,
  ];
  for (const attribute of options.attributes ?? []) args.push('--attribute', attribute);
  if (options.cpu !== undefined) args.push('--cpu', String(options.cpu));
  if (options.memoryMiB !== undefined) args.push('--memory', String(options.memoryMiB));
  return { stateDir, ...spawnBerth(args, options.env) };
}
