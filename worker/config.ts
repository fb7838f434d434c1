/**
 * Berth's settings, read from environment variables on Node and from the Worker's vars on Workers,
 * by this one parser. A bad value is a startup error that names the variable and says what it
 * wants, never a NaN discovered later. Unset variables take DEFAULT_BERTH_CONFIG's values, so both
 * runtimes behave the same with the same settings.
 */
import { parseAllowedHosts } from './api/allowed-hosts';
import { type BerthConfig, DEFAULT_BERTH_CONFIG } from './core/deps';

/** Every variable the parser reads, with the setting it fills. */
export const CONFIG_VARIABLES = {
  region: 'BERTH_REGION',
  accountId: 'BERTH_ACCOUNT_ID',
  agentDisconnectGraceMs: 'BERTH_AGENT_GRACE_MS',
  heartbeatIntervalMs: 'BERTH_HEARTBEAT_INTERVAL_MS',
  maxRequestBodyBytes: 'BERTH_MAX_REQUEST_BODY_BYTES',
  allowedHosts: 'BERTH_ALLOWED_HOSTS',
  registrationsPerJoinTokenPerMinute: 'BERTH_REGISTRATIONS_PER_TOKEN_PER_MINUTE',
  taskHealthyAfterMs: 'BERTH_TASK_HEALTHY_AFTER_MS',
  inactiveServiceRetentionMs: 'BERTH_INACTIVE_SERVICE_RETENTION_MS',
  execIdleTimeoutMs: 'BERTH_EXEC_IDLE_TIMEOUT_MS',
  serviceThrottleBaseMs: 'BERTH_SERVICE_THROTTLE_BASE_MS',
} as const satisfies Partial<Record<keyof BerthConfig, string>>;

export type ConfigVariables = Partial<
  Record<(typeof CONFIG_VARIABLES)[keyof typeof CONFIG_VARIABLES], string>
>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT_ID = /^\d{12}$/;

function wholeNumber(vars: Record<string, string | undefined>, name: string, min: number, unit: string) {
  const text = vars[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(`${name}: '${text}' is not a whole number of ${unit} (at least ${min})`);
  }
  return value;
}

export function parseBerthConfig(vars: Record<string, string | undefined>): BerthConfig {
  const v = CONFIG_VARIABLES;
  const region = vars[v.region] || DEFAULT_BERTH_CONFIG.region;
  if (!REGION.test(region))
    throw new ConfigError(`${v.region}: '${region}' is not a region name like us-east-1`);
  const accountId = vars[v.accountId] || DEFAULT_BERTH_CONFIG.accountId;
  if (!ACCOUNT_ID.test(accountId)) throw new ConfigError(`${v.accountId}: '${accountId}' is not 12 digits`);
  const allowedHostsText = vars[v.allowedHosts];
  let allowedHosts: string[] | undefined;
  try {
    allowedHosts = allowedHostsText ? parseAllowedHosts(allowedHostsText, v.allowedHosts) : undefined;
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  return {
    region,
    accountId,
    agentDisconnectGraceMs:
      wholeNumber(vars, v.agentDisconnectGraceMs, 0, 'milliseconds') ??
      DEFAULT_BERTH_CONFIG.agentDisconnectGraceMs,
    heartbeatIntervalMs: wholeNumber(vars, v.heartbeatIntervalMs, 1, 'milliseconds'),
    maxRequestBodyBytes: wholeNumber(vars, v.maxRequestBodyBytes, 1, 'bytes'),
    allowedHosts,
    registrationsPerJoinTokenPerMinute: wholeNumber(
      vars,
      v.registrationsPerJoinTokenPerMinute,
      1,
      'registrations',
    ),
    taskHealthyAfterMs: wholeNumber(vars, v.taskHealthyAfterMs, 0, 'milliseconds'),
    inactiveServiceRetentionMs: wholeNumber(vars, v.inactiveServiceRetentionMs, 0, 'milliseconds'),
    serviceThrottleBaseMs: wholeNumber(vars, v.serviceThrottleBaseMs, 1, 'milliseconds'),
    execIdleTimeoutMs: wholeNumber(vars, v.execIdleTimeoutMs, 1, 'milliseconds'),
  };
}
