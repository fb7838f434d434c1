/**
 * A cluster's Durable Object is created near the cluster's region. Cloudflare takes a coarse
 * location hint, not an AWS region, so the region's prefix picks the nearest hint; the hint only
 * matters when the object is first created.
 */
export type LocationHint = 'wnam' | 'enam' | 'sam' | 'weur' | 'eeur' | 'apac' | 'oc' | 'afr' | 'me';

const HINT_BY_REGION_PREFIX: [prefix: string, hint: LocationHint][] = [
  ['us-west-', 'wnam'],
  ['us-gov-west-', 'wnam'],
  ['ca-west-', 'wnam'],
  ['us-', 'enam'],
  ['ca-', 'enam'],
  ['mx-', 'enam'],
  ['sa-', 'sam'],
  ['eu-central-', 'eeur'],
  ['eu-north-', 'eeur'],
  ['eu-', 'weur'],
  ['ap-southeast-2', 'oc'],
  ['ap-southeast-4', 'oc'],
  ['ap-', 'apac'],
  ['cn-', 'apac'],
  ['af-', 'afr'],
  ['me-', 'me'],
  ['il-', 'me'],
];

export function locationHintFor(region: string): LocationHint | undefined {
  return HINT_BY_REGION_PREFIX.find(([prefix]) => region.startsWith(prefix))?.[1];
}
