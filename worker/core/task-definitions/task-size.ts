/**
 * Task- and container-level sizes as ECS reads them. Task `cpu` and `memory` are strings on the
 * wire ("1024", "1 vCPU", "2 GB") that ECS converts to CPU units and MiB at registration.
 */
import { clientError } from '../errors';

export const CPU_UNITS_PER_VCPU = 1024;
const MIB_PER_GIB = 1024;
/** ECS's range for task-level cpu on EC2 and external instances (0.125 to 192 vCPUs). */
export const MIN_TASK_CPU_UNITS = 128;
export const MAX_TASK_CPU_UNITS = 196_608;
/** Docker 20.10+ reserves 6 MiB per container, so nothing smaller can start. */
export const MIN_MEMORY_MIB = 6;

const DECIMAL = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const PLAIN_NUMBER = /^\d+$/;
const VCPU_AMOUNT = new RegExp(`^${DECIMAL}\\s*vcpus?$`, 'i');
const GIB_AMOUNT = new RegExp(`^${DECIMAL}\\s*gi?b$`, 'i');
const MIB_AMOUNT = new RegExp(`^${DECIMAL}\\s*mi?b$`, 'i');

function scaled(text: string, pattern: RegExp, factor: number): number | undefined {
  const match = pattern.exec(text);
  return match ? Math.round(Number(match[1]) * factor) : undefined;
}

/** `"1024"`, `"1 vCPU"`, `"0.5 vcpu"` → CPU units. `field` names the input in the error. */
export function parseTaskCpuUnits(cpu: string | number, field = 'cpu'): number {
  const text = String(cpu).trim();
  const units = PLAIN_NUMBER.test(text) ? Number(text) : scaled(text, VCPU_AMOUNT, CPU_UNITS_PER_VCPU);
  if (units === undefined || units < MIN_TASK_CPU_UNITS || units > MAX_TASK_CPU_UNITS) {
    throw clientError(
      `${field}: Invalid 'cpu' setting for task. Expected CPU units (e.g. '1024') or vCPUs (e.g. '1 vCPU') ` +
        `between ${MIN_TASK_CPU_UNITS} and ${MAX_TASK_CPU_UNITS} units, got '${cpu}'.`,
    );
  }
  return units;
}

/** `"512"`, `"512 MiB"`, `"2 GB"`, `"0.5GB"` → MiB. `field` names the input in the error. */
export function parseTaskMemoryMiB(memory: string | number, field = 'memory'): number {
  const text = String(memory).trim();
  const mib = PLAIN_NUMBER.test(text)
    ? Number(text)
    : (scaled(text, GIB_AMOUNT, MIB_PER_GIB) ?? scaled(text, MIB_AMOUNT, 1));
  if (mib === undefined || mib < MIN_MEMORY_MIB || !Number.isSafeInteger(mib)) {
    throw clientError(
      `${field}: Invalid 'memory' setting for task. Expected MiB (e.g. '512') or GB (e.g. '2 GB'), ` +
        `at least ${MIN_MEMORY_MIB} MiB, got '${memory}'.`,
    );
  }
  return mib;
}

export interface ContainerMemorySettings {
  memory?: number | null;
  memoryReservation?: number | null;
}

/**
 * The memory Berth reserves for a container on its instance: the hard limit when set, else the
 * soft reservation. Reserving the hard limit means a placed task can always grow to its limit
 * without another task's memory being overcommitted. 0 when neither is set, which only a task
 * with task-level memory allows.
 */
export function containerMemoryMiB(container: ContainerMemorySettings): number {
  return container.memory ?? container.memoryReservation ?? 0;
}

/** ECS treats a container that says nothing about `essential` as essential. */
export function effectiveEssential(container: { essential?: boolean | null }): boolean {
  return container.essential ?? true;
}
