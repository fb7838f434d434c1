import { invalidParameter } from './errors';

export interface Tag {
  key?: string;
  value?: string;
}

const MAX_TAGS = 50;

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
    if (key.toLowerCase().startsWith('aws:'))
      throw invalidParameter(`${field}[${i}].key: the aws: prefix is reserved`);
    if (seen.has(key)) throw invalidParameter(`${field}[${i}].key: duplicate tag key '${key}'`);
    seen.add(key);
  });
  return tags;
}
