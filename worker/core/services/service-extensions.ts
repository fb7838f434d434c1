/**
 * Berth's deployment settings beyond ECS, read from service tags under the reserved `berth:`
 * prefix. Tags are the form because every ECS client already sets them (CreateService `tags`,
 * TagResource, Terraform, CDK) and an ECS client that knows nothing of Berth sees only tags: the
 * ECS API stays unchanged. The actions (pause, resume, rollback to a revision, stop and start)
 * are a small Berth API beside the ECS one (worker/api/service-controls.ts).
 *
 * | tag key                          | value                                   | default            |
 * |----------------------------------|-----------------------------------------|--------------------|
 * | berth:progress-deadline          | duration: the deployment fails when it makes no progress that long | none |
 * | berth:min-healthy-time           | duration: a new task must stay healthy that long to count | 0 |
 * | berth:update-order               | start-first \| stop-first               | the ECS bounds     |
 * | berth:disconnect-replace-after   | duration: replace tasks of a host disconnected that long | keep them (ECS) |
 * | berth:disconnect-reconcile       | keep-original \| keep-replacement       | keep-original      |
 *
 * A duration is an integer with an optional unit: `90` or `90s`, `10m`, `2h` (at most 24 h).
 */
import type { Tag } from '../../ecs-types.generated';
import { invalidParameter } from '../errors';

export const BERTH_TAG_PREFIX = 'berth:';

export type UpdateOrder = 'start-first' | 'stop-first';
export type DisconnectReconcile = 'keep-original' | 'keep-replacement';

export interface ServiceExtensions {
  progressDeadlineMs?: number;
  minHealthyTimeMs: number;
  updateOrder?: UpdateOrder;
  disconnectReplaceAfterMs?: number;
  disconnectReconcile: DisconnectReconcile;
}

const MAX_DURATION_MS = 24 * 60 * 60 * 1000;
const UNIT_MS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3_600_000 };

type Setting = (extensions: ServiceExtensions, value: string, key: string) => void;

const SETTINGS: Record<string, Setting> = {
  'berth:progress-deadline': (x, value, key) => {
    x.progressDeadlineMs = duration(value, key, 1000);
  },
  'berth:min-healthy-time': (x, value, key) => {
    x.minHealthyTimeMs = duration(value, key, 0);
  },
  'berth:update-order': (x, value, key) => {
    x.updateOrder = oneOf(value, key, ['start-first', 'stop-first'] as const);
  },
  'berth:disconnect-replace-after': (x, value, key) => {
    x.disconnectReplaceAfterMs = duration(value, key, 0);
  },
  'berth:disconnect-reconcile': (x, value, key) => {
    x.disconnectReconcile = oneOf(value, key, ['keep-original', 'keep-replacement'] as const);
  },
};

/**
 * The settings the tags give. Throws InvalidParameterException naming the tag for a `berth:` key
 * Berth doesn't know or a value it can't read, so a typo never passes silently.
 */
export function serviceExtensionsOf(tags: readonly Tag[], field = 'tags'): ServiceExtensions {
  const extensions: ServiceExtensions = { minHealthyTimeMs: 0, disconnectReconcile: 'keep-original' };
  tags.forEach((tag, i) => {
    const key = tag.key ?? '';
    if (!key.toLowerCase().startsWith(BERTH_TAG_PREFIX)) return;
    const setting = Object.hasOwn(SETTINGS, key) ? SETTINGS[key] : undefined;
    if (!setting) {
      throw invalidParameter(
        `${field}[${i}].key: '${key}' is not a Berth setting; the berth: prefix is reserved for ${Object.keys(SETTINGS).join(', ')}`,
      );
    }
    setting(extensions, tag.value ?? '', `${field}[${i}] (${key})`);
  });
  return extensions;
}

/** Parses the service row's stored tags; they were validated when written. */
export function storedServiceExtensions(tagsJson: string): ServiceExtensions {
  return serviceExtensionsOf(JSON.parse(tagsJson) as Tag[]);
}

function duration(value: string, field: string, minimumMs: number): number {
  const match = /^(\d{1,6})(s|m|h)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] ?? ''] : Number.NaN;
  if (!(ms >= minimumMs && ms <= MAX_DURATION_MS)) {
    throw invalidParameter(
      `${field}: '${value.slice(0, 64)}' is not a duration between ${minimumMs / 1000} s and 24 h (write 90, 90s, 10m or 2h)`,
    );
  }
  return ms;
}

function oneOf<T extends string>(value: string, field: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidParameter(`${field}: '${value.slice(0, 64)}' must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}
