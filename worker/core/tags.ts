import type { Tag } from '../ecs-types.generated';
import { invalidParameter } from './errors';

export type { Tag };

/** ECS's limit of tags per resource, counted after merging (TagResource, propagated tags). */
export const MAX_TAGS = 50;

/** ECS reserves keys starting with `aws:` in any case: callers may neither set nor remove them. */
const isReservedKey = (key: string) => key.toLowerCase().startsWith('aws:');

/** ECS's tag rules: at most 50, keys 1-128 chars, values up to 256, no 'aws:' prefix. */
export function validateTags(tags: Tag[] | undefined, field = 'tags'): Tag[] {
  if (!tags) return [];
  if (tags.length > MAX_TAGS) throw invalidParameter(`${field}: at most ${MAX_TAGS} tags are allowed`);
  const seen = new Set<string>();
  tags.forEach((tag, i) => {
    const key = tag.key ?? '';
    if (key.length < 1 || key.length > 128)
      throw invalidParameter(`${field}[${i}].key: must be 1 to 128 characters`);
    if ((tag.value ?? '').length > 256)
      throw invalidParameter(`${field}[${i}].value: must be at most 256 characters`);
    if (isReservedKey(key)) throw invalidParameter(`${field}[${i}].key: the aws: prefix is reserved`);
    if (seen.has(key)) throw invalidParameter(`${field}[${i}].key: duplicate tag key '${key}'`);
    seen.add(key);
  });
  return tags;
}

/** Keys to remove from a resource (UntagResource): reserved keys can't be removed, as in ECS. */
export function validateTagKeys(keys: string[], field = 'tagKeys'): string[] {
  keys.forEach((key, i) => {
    if (isReservedKey(key)) throw invalidParameter(`${field}[${i}]: the aws: prefix is reserved`);
  });
  return keys;
}

/**
 * `base` with `winning` laid over it: a key in both takes its value from `winning` and keeps its
 * place in `base`; new keys follow in their order. Both lists must have unique keys.
 */
export function mergeTags(base: readonly Tag[], winning: readonly Tag[]): Tag[] {
  const merged = new Map<string | undefined, Tag>(base.map((tag) => [tag.key, tag]));
  for (const tag of winning) merged.set(tag.key, tag);
  return [...merged.values()];
}
