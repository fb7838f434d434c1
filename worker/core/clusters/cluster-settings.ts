/**
 * A cluster's settings (containerInsights), its configuration (executeCommandConfiguration,
 * managedStorageConfiguration) and its Service Connect defaults: checked as ECS checks them, and
 * stored as given. Berth has no CloudWatch, KMS, S3 or Cloud Map: it keeps these so clients that
 * set them work and read them back, and so ECS Exec can read its configuration from the cluster.
 */
import type {
  ClusterConfiguration,
  ClusterServiceConnectDefaultsRequest,
  ClusterSetting,
} from '../../ecs-types.generated';
import { effectiveAccountSetting } from '../account-settings/account-settings';
import { SETTING_RULES } from '../account-settings/setting-rules';
import type { CoreDeps } from '../deps';
import { excerpt, invalidParameter } from '../errors';

export type { ClusterConfiguration, ClusterSetting };

type ClusterSettingName = NonNullable<ClusterSetting['name']>;

/** The one cluster setting ECS has, with the values its account setting takes. */
const CLUSTER_SETTING_VALUES: Readonly<Record<ClusterSettingName, readonly string[]>> = {
  containerInsights: SETTING_RULES.containerInsights.values,
};

const isClusterSettingName = (name: string): name is ClusterSettingName =>
  Object.hasOwn(CLUSTER_SETTING_VALUES, name);

export function validateClusterSettings(
  settings: ClusterSetting[],
  field = 'settings',
): Required<ClusterSetting>[] {
  const seen = new Set<string>();
  return settings.map((setting, i) => {
    const name = setting.name ?? '';
    if (!isClusterSettingName(name)) {
      throw invalidParameter(`${field}[${i}].name: '${excerpt(name)}' is not a cluster setting`);
    }
    const values = CLUSTER_SETTING_VALUES[name];
    if (!values.includes(setting.value ?? '')) {
      throw invalidParameter(`${field}[${i}].value: ${name} takes one of ${values.join(', ')}`);
    }
    if (seen.has(name)) throw invalidParameter(`${field}[${i}].name: ${name} is given twice`);
    seen.add(name);
    return { name, value: setting.value! };
  });
}

/** `current` with each setting in `given` replacing the one of its name. */
export function mergeClusterSettings(
  current: readonly Required<ClusterSetting>[],
  given: readonly Required<ClusterSetting>[],
): Required<ClusterSetting>[] {
  const merged = new Map(current.map((s) => [s.name, s]));
  for (const setting of given) merged.set(setting.name, setting);
  return [...merged.values()];
}

/**
 * A new cluster's settings: those CreateCluster gives, and containerInsights from the account
 * setting when it gives none (ECS: a cluster's value overrides the account's).
 */
export async function settingsForNewCluster(
  deps: CoreDeps,
  given: ClusterSetting[] | undefined,
): Promise<Required<ClusterSetting>[]> {
  const settings = validateClusterSettings(given ?? []);
  if (settings.some((s) => s.name === 'containerInsights')) return settings;
  return [
    { name: 'containerInsights', value: await effectiveAccountSetting(deps, 'containerInsights') },
    ...settings,
  ];
}

export function validateClusterConfiguration(configuration: ClusterConfiguration): ClusterConfiguration {
  const exec = configuration.executeCommandConfiguration;
  if (exec?.logging === 'OVERRIDE' && !exec.logConfiguration) {
    throw invalidParameter(
      'configuration.executeCommandConfiguration.logConfiguration: required when logging is OVERRIDE',
    );
  }
  return configuration;
}

/** Each member `given` names replaces that member; the others stay as they were. */
export function mergeClusterConfiguration(
  current: ClusterConfiguration,
  given: ClusterConfiguration,
): ClusterConfiguration {
  return { ...current, ...given };
}

const NAMESPACE_FORBIDDEN = /[<>"/]/;

/**
 * The stored Service Connect defaults: `{namespace}` as given (Berth has no Cloud Map to resolve
 * a name to an ARN), or null for ECS's empty namespace, which removes them.
 */
export function serviceConnectDefaultsJson(defaults: ClusterServiceConnectDefaultsRequest): string | null {
  const { namespace } = defaults;
  if (namespace === '') return null;
  if (namespace.length > 1024) {
    throw invalidParameter('serviceConnectDefaults.namespace: must be at most 1024 characters');
  }
  // A name can't hold these characters; an ARN holds slashes.
  if (!namespace.startsWith('arn:') && NAMESPACE_FORBIDDEN.test(namespace)) {
    throw invalidParameter(
      `serviceConnectDefaults.namespace: '${excerpt(namespace)}' can't include >, <, " or /`,
    );
  }
  return JSON.stringify({ namespace });
}
