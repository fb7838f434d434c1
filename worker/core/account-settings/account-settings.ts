/**
 * PutAccountSetting, PutAccountSettingDefault, ListAccountSettings and DeleteAccountSetting.
 *
 * ECS keeps a setting per principal (user, role or the account's root), and a principal without
 * its own setting gets the root's, else ECS's default. Berth has no authentication yet, so every
 * call acts as the account's root principal, `arn:aws:iam::<account>:root`, unless it names
 * another principal of the account with `principalArn`, as ECS allows; the account default
 * (PutAccountSettingDefault) is the root's setting. The rules per setting are in setting-rules.ts.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { accountSettings } from '../../../db/schema';
import type {
  DeleteAccountSettingRequest,
  DeleteAccountSettingResponse,
  ListAccountSettingsRequest,
  ListAccountSettingsResponse,
  PutAccountSettingDefaultRequest,
  PutAccountSettingRequest,
  PutAccountSettingResponse,
  Setting,
} from '../../ecs-types.generated';
import type { BerthConfig, CoreDeps } from '../deps';
import { excerpt, invalidParameter } from '../errors';
import { pageResult, readPage } from '../pagination';
import { checkValue, checkWritable, SETTING_NAMES, SETTING_RULES, type SettingName } from './setting-rules';

/** A setting as Berth reports it: the model's, every member present. */
export type AccountSetting = Required<Setting>;

export const rootPrincipalArn = (config: Pick<BerthConfig, 'accountId'>) =>
  `arn:aws:iam::${config.accountId}:root`;

/** IAM users and roles (with paths) and the root; an assumed-role session can't hold settings in ECS either. */
const PRINCIPAL_PATTERN = /^arn:aws[a-z-]*:iam::([^:]+):(?:root|user\/.+|role\/.+)$/;

/** The principal a call acts for: the one it names, checked to be of this account, else the root. */
function principalOf(deps: CoreDeps, principalArn: string | undefined): string {
  if (principalArn === undefined) return rootPrincipalArn(deps.config);
  const match = PRINCIPAL_PATTERN.exec(principalArn);
  if (!match) {
    throw invalidParameter(
      `principalArn: '${excerpt(principalArn)}' is not the ARN of an IAM user, an IAM role or the account's root`,
    );
  }
  if (match[1] !== deps.config.accountId) {
    throw invalidParameter(
      `principalArn: '${excerpt(principalArn)}' belongs to account '${match[1]}'; this control plane is account '${deps.config.accountId}'`,
    );
  }
  return principalArn;
}

function settingNameOf(name: string): SettingName {
  if (!(SETTING_NAMES as readonly string[]).includes(name)) {
    throw invalidParameter(`name: '${excerpt(name)}' is not one of ${SETTING_NAMES.join(', ')}`);
  }
  return name as SettingName;
}

const settingOf = (name: SettingName, value: string, principalArn: string): AccountSetting => ({
  name,
  value,
  principalArn,
  type: SETTING_RULES[name].type,
});

async function putSetting(
  deps: CoreDeps,
  principalArn: string,
  input: PutAccountSettingDefaultRequest,
): Promise<PutAccountSettingResponse> {
  const name = settingNameOf(input.name);
  checkWritable(name, principalArn === rootPrincipalArn(deps.config));
  const value = checkValue(name, input.value);
  await deps.db
    .insert(accountSettings)
    .values({ principalArn, name, value, updatedAtMs: deps.now() })
    .onConflictDoUpdate({
      target: [accountSettings.principalArn, accountSettings.name],
      set: { value, updatedAtMs: deps.now() },
    });
  return { setting: settingOf(name, value, principalArn) };
}

export function putAccountSetting(deps: CoreDeps, input: PutAccountSettingRequest) {
  return putSetting(deps, principalOf(deps, input.principalArn), input);
}

/** The setting of every principal that has none of its own: the root's. */
export function putAccountSettingDefault(deps: CoreDeps, input: PutAccountSettingDefaultRequest) {
  return putSetting(deps, rootPrincipalArn(deps.config), input);
}

/** The principal's own setting, else the root's, else ECS's default (reported as the root's). */
async function effectiveSettings(
  deps: CoreDeps,
  principalArn: string,
  names: readonly SettingName[],
): Promise<AccountSetting[]> {
  const root = rootPrincipalArn(deps.config);
  const rows = await deps.db
    .select()
    .from(accountSettings)
    .where(inArray(accountSettings.principalArn, [principalArn, root]));
  const stored = (principal: string, name: SettingName) =>
    rows.find((r) => r.principalArn === principal && r.name === name);
  return names.map((name) => {
    const row = stored(principalArn, name) ?? stored(root, name);
    return row
      ? settingOf(name, row.value, row.principalArn)
      : settingOf(name, SETTING_RULES[name].defaultValue, root);
  });
}

/** What an account setting is for the root principal: what CreateCluster applies, for example. */
export async function effectiveAccountSetting(deps: CoreDeps, name: SettingName): Promise<string> {
  const [setting] = await effectiveSettings(deps, rootPrincipalArn(deps.config), [name]);
  return setting.value;
}

export async function listAccountSettings(
  deps: CoreDeps,
  input: ListAccountSettingsRequest,
): Promise<ListAccountSettingsResponse> {
  if (input.value !== undefined && input.name === undefined) {
    throw invalidParameter('value: a setting name must be given with it');
  }
  const principalArn = principalOf(deps, input.principalArn);
  const names = input.name === undefined ? SETTING_NAMES : [settingNameOf(input.name)];
  // ECS pages these by 10 at most.
  const page = readPage(input, 10, 10);
  let settings: AccountSetting[];
  if (input.effectiveSettings) {
    settings = await effectiveSettings(deps, principalArn, names);
  } else {
    const rows = await deps.db
      .select()
      .from(accountSettings)
      .where(eq(accountSettings.principalArn, principalArn));
    settings = names.flatMap((name) => {
      const row = rows.find((r) => r.name === name);
      return row ? [settingOf(name, row.value, principalArn)] : [];
    });
  }
  const matching = settings.filter((s) => input.value === undefined || s.value === input.value);
  const { items, nextToken } = pageResult(matching.slice(page.offset, page.offset + page.limit + 1), page);
  return { settings: items, nextToken };
}

/**
 * Removes the principal's own setting, so the root's (or ECS's default) applies to it again.
 * Answers with the value that was removed, or, when there was none, the one that applies.
 */
export async function deleteAccountSetting(
  deps: CoreDeps,
  input: DeleteAccountSettingRequest,
): Promise<DeleteAccountSettingResponse> {
  const principalArn = principalOf(deps, input.principalArn);
  const name = settingNameOf(input.name);
  checkWritable(name, principalArn === rootPrincipalArn(deps.config));
  const [deleted] = await deps.db
    .delete(accountSettings)
    .where(and(eq(accountSettings.principalArn, principalArn), eq(accountSettings.name, name)))
    .returning();
  const value = deleted?.value ?? (await effectiveSettings(deps, principalArn, [name]))[0].value;
  return { setting: settingOf(name, value, principalArn) };
}
