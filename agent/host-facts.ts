/**
 * What the agent tells the control plane about its host: identity, capacity and attributes.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, totalmem } from 'node:os';
import { CAPACITY_PROVIDER_ATTRIBUTE } from '../protocol/attributes';
import type { AgentAttribute } from './options';

/** CPU units per core, as ECS counts them. */
export const CPU_UNITS_PER_CORE = 1024;
const BYTES_PER_MIB = 1024 * 1024;

function readAgentVersion(): string {
  try {
    const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof packageJson.version === 'string' ? packageJson.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const AGENT_VERSION = readAgentVersion();

export function hostName(): string {
  return hostname();
}

export function detectedResources(overrides: { cpu?: number; memoryMiB?: number }) {
  return {
    cpu: overrides.cpu ?? Math.max(1, cpus().length) * CPU_UNITS_PER_CORE,
    memoryMiB: overrides.memoryMiB ?? Math.floor(totalmem() / BYTES_PER_MIB),
  };
}

/** ECS names architectures the way `uname -m` does. */
function ecsCpuArchitecture(): string {
  const nodeArch = arch();
  if (nodeArch === 'x64') return 'x86_64';
  return nodeArch;
}

/**
 * The ecs.* attributes ECS's own agent registers, then the operator's (which win on a name clash),
 * then the capacity provider's pool from `--capacity-provider`, which wins over an `--attribute` of
 * the same name since it is the one flag that exists to set it.
 */
export function hostAttributes(
  dockerVersion: string,
  custom: AgentAttribute[],
  capacityProvider?: string,
): AgentAttribute[] {
  const byName = new Map<string, AgentAttribute>();
  const detected: AgentAttribute[] = [
    { name: 'ecs.os-type', value: 'linux' },
    { name: 'ecs.os-family', value: 'LINUX' },
    { name: 'ecs.cpu-architecture', value: ecsCpuArchitecture() },
    { name: 'berth.docker-version', value: dockerVersion },
  ];
  for (const attribute of [...detected, ...custom]) byName.set(attribute.name, attribute);
  if (capacityProvider !== undefined) {
    byName.set(CAPACITY_PROVIDER_ATTRIBUTE, { name: CAPACITY_PROVIDER_ATTRIBUTE, value: capacityProvider });
  }
  return [...byName.values()];
}
