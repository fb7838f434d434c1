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
  apiRequestsPerSecondPerKey: 'BERTH_API_RATE_PER_KEY',
  apiBurstPerKey: 'BERTH_API_BURST_PER_KEY',
  eventStreamsPerKey: 'BERTH_EVENT_STREAMS_PER_KEY',
  headersTimeoutMs: 'BERTH_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'BERTH_REQUEST_TIMEOUT_MS',
  auditRetentionDays: 'BERTH_AUDIT_RETENTION_DAYS',
  hookDebounceMs: 'BERTH_HOOK_DEBOUNCE_MS',
  eventDeliveryRetryForMs: 'BERTH_EVENT_DELIVERY_RETRY_FOR_MS',
  eventDeliveryFirstRetryMs: 'BERTH_EVENT_DELIVERY_FIRST_RETRY_MS',
  eventDeliveryTimeoutMs: 'BERTH_EVENT_DELIVERY_TIMEOUT_MS',
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
    apiRequestsPerSecondPerKey: wholeNumber(vars, v.apiRequestsPerSecondPerKey, 0, 'requests per second'),
    apiBurstPerKey: wholeNumber(vars, v.apiBurstPerKey, 1, 'requests'),
    eventStreamsPerKey: wholeNumber(vars, v.eventStreamsPerKey, 0, 'streams'),
    headersTimeoutMs: wholeNumber(vars, v.headersTimeoutMs, 1, 'milliseconds'),
    requestTimeoutMs: wholeNumber(vars, v.requestTimeoutMs, 1, 'milliseconds'),
    auditRetentionDays: wholeNumber(vars, v.auditRetentionDays, 1, 'days'),
    hookDebounceMs: wholeNumber(vars, v.hookDebounceMs, 0, 'milliseconds'),
    eventDeliveryRetryForMs: wholeNumber(vars, v.eventDeliveryRetryForMs, 0, 'milliseconds'),
    eventDeliveryFirstRetryMs: wholeNumber(vars, v.eventDeliveryFirstRetryMs, 1, 'milliseconds'),
    eventDeliveryTimeoutMs: wholeNumber(vars, v.eventDeliveryTimeoutMs, 1, 'milliseconds'),
    execIdleTimeoutMs: wholeNumber(vars, v.execIdleTimeoutMs, 1, 'milliseconds'),
  };
}
