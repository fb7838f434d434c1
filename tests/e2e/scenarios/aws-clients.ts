/**
 * The real clients users have, against Berth's SigV4 verification on every runtime: Debian's aws
 * cli v2 and boto3 (python3-boto3), each with a right key, an unknown key, a wrong secret and a
 * request signed 10 minutes ago (the aws cli under faketime; boto3 with its signing clock moved),
 * plus a tampered body (boto3) and a policy refusal (the aws cli). Each must print what AWS would.
 * The AWS SDK for JavaScript's cases are in authentication.ts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateClusterCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, type TestCredentials } from '../../helpers/credentials';
import type { RunningRuntime, RuntimeHarness } from '../../helpers/runtimes';

const execFileAsync = promisify(execFile);
const AWS_CLI_V2 = '/usr/bin/aws';
const DEBIAN_PYTHON = '/usr/bin/python3';
const BOTO3_PROBE = join(import.meta.dirname, '../../helpers/python/boto3_signing_probe.py');
const CLUSTER = 'cli-cluster';
const INVALID_TOKEN = 'The security token included in the request is invalid.';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface Boto3Outcome {
  ok: boolean;
  clusterArns?: string[];
  code?: string;
  message?: string;
  status?: number;
}

export function defineAwsClientScenarios(harness: RuntimeHarness) {
  describe(`the aws cli v2 and boto3 against SigV4 on the ${harness.name} runtime`, () => {
    let runtime: RunningRuntime;
    let viewer: TestCredentials;
    const homeDir = mkdtempSync(join(tmpdir(), 'berth-aws-cli-'));

    /** The aws cli with nothing from this machine's own AWS set-up: only what the test gives it. */
    const awsCli = async (
      args: string[],
      credentials: TestCredentials | { profile: string; file: string },
      clockShift?: string,
    ): Promise<CliRun> => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: homeDir,
        AWS_CONFIG_FILE: join(homeDir, 'no-config'),
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_PAGER: '',
      };
      if ('profile' in credentials) env.AWS_SHARED_CREDENTIALS_FILE = credentials.file;
      else {
        env.AWS_SHARED_CREDENTIALS_FILE = join(homeDir, 'no-credentials');
        env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
        env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
      }
      const command = [
        AWS_CLI_V2,
        'ecs',
        ...args,
        '--endpoint-url',
        runtime.endpoint,
        '--region',
        'us-east-1',
      ];
      if ('profile' in credentials) command.push('--profile', credentials.profile);
      const [file, ...rest] = clockShift ? ['faketime', '-f', clockShift, ...command] : command;
      try {
        const { stdout, stderr } = await execFileAsync(file as string, rest, { env, timeout: 60_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number; stdout?: string; stderr?: string };
        return { code: Number(failed.code ?? -1), stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
      }
    };

    beforeAll(async () => {
      runtime = await harness.start();
      await runtime.ecs.send(new CreateClusterCommand({ clusterName: CLUSTER }));
      const made = await signedFetch(
        `${runtime.endpoint}/berth/v1/keys`,
        { method: 'POST', body: JSON.stringify({ name: 'viewer', policy: 'read-only' }) },
        runtime.credentials,
      );
      viewer = (await made.json()) as TestCredentials;
    });
    afterAll(async () => {
      await runtime?.close();
      rmSync(homeDir, { recursive: true, force: true });
    });

    it('aws cli v2: a right key works, from the environment and from a shared credentials profile', async () => {
      const fromEnvironment = await awsCli(['list-clusters'], runtime.credentials);
      expect(fromEnvironment.stderr).toBe('');
      expect(JSON.parse(fromEnvironment.stdout).clusterArns).toContain(
        `arn:aws:ecs:us-east-1:000000000000:cluster/${CLUSTER}`,
      );
      const file = join(homeDir, 'credentials');
      writeFileSync(
        file,
        `[berth]\naws_access_key_id = ${runtime.credentials.accessKeyId}\naws_secret_access_key = ${runtime.credentials.secretAccessKey}\n`,
      );
      const fromProfile = await awsCli(['describe-clusters', '--clusters', CLUSTER], {
        profile: 'berth',
        file,
      });
      expect(fromProfile.code).toBe(0);
      expect(JSON.parse(fromProfile.stdout).clusters[0].clusterName).toBe(CLUSTER);
    });

    it('aws cli v2: an unknown key, a wrong secret and a request signed 10 minutes ago each get the AWS error', async () => {
      const unknown = await awsCli(['list-clusters'], {
        accessKeyId: 'BKIAUNKNOWN000000000',
        secretAccessKey: runtime.credentials.secretAccessKey,
      });
      expect(unknown.code).toBe(254);
      expect(unknown.stderr.trim()).toBe(
        `An error occurred (UnrecognizedClientException) when calling the ListClusters operation: ${INVALID_TOKEN}`,
      );
      const wrongSecret = await awsCli(['list-clusters'], {
        ...runtime.credentials,
        secretAccessKey: `${runtime.credentials.secretAccessKey}x`,
      });
      expect(wrongSecret.code).toBe(254);
      expect(wrongSecret.stderr).toMatch(
        /An error occurred \(InvalidSignatureException\) when calling the ListClusters operation: The request signature we calculated does not match the signature you provided/,
      );
      const old = await awsCli(['list-clusters'], runtime.credentials, '-10m');
      expect(old.code).toBe(254);
      expect(old.stderr).toMatch(
        /An error occurred \(InvalidSignatureException\) when calling the ListClusters operation: Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)/,
      );
    });

    it('aws cli v2: a read-only key may describe but not run, and is told who, what and where', async () => {
      expect((await awsCli(['list-clusters'], viewer)).code).toBe(0);
      const run = await awsCli(['run-task', '--cluster', CLUSTER, '--task-definition', 'anything'], viewer);
      expect(run.code).toBe(254);
      expect(run.stderr.trim()).toBe(
        'An error occurred (AccessDeniedException) when calling the RunTask operation: User: ' +
          'arn:aws:iam::000000000000:user/viewer is not authorized to perform: ecs:RunTask on resource: ' +
          `arn:aws:ecs:us-east-1:000000000000:cluster/${CLUSTER} because no identity-based policy allows the ecs:RunTask action`,
      );
    });

    it('boto3: a right key works; an unknown key, a wrong secret, an old signature and a tampered body do not', async () => {
      const { stdout } = await execFileAsync(
        DEBIAN_PYTHON,
        [BOTO3_PROBE, runtime.endpoint, runtime.credentials.accessKeyId, runtime.credentials.secretAccessKey],
        {
          env: { PATH: process.env.PATH ?? '', HOME: homeDir, AWS_EC2_METADATA_DISABLED: 'true' },
          timeout: 60_000,
        },
      );
      const outcomes = JSON.parse(stdout) as Record<string, Boto3Outcome>;
      expect(outcomes.rightKey).toEqual({
        ok: true,
        clusterArns: expect.arrayContaining([`arn:aws:ecs:us-east-1:000000000000:cluster/${CLUSTER}`]),
      });
      expect(outcomes.unknownKey).toEqual({
        ok: false,
        code: 'UnrecognizedClientException',
        message: INVALID_TOKEN,
        status: 400,
      });
      expect(outcomes.wrongSecret).toMatchObject({
        ok: false,
        code: 'InvalidSignatureException',
        status: 400,
      });
      expect(outcomes.wrongSecret?.message).toMatch(/^The request signature we calculated does not match/);
      expect(outcomes.signedTenMinutesAgo).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
      expect(outcomes.signedTenMinutesAgo?.message).toMatch(/^Signature expired: .* - 5 min\.\)$/);
      expect(outcomes.tamperedBody).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    });
  });
}
