/** What `npm start` and `npm run start:workers` print once Berth is up, and how both shut down. */
export function printRunningBanner(options: {
  title: string;
  endpoint: string;
  cluster: string;
  data: string;
  /** The AWS shared-credentials file holding the admin key (profile `berth`). */
  credentialsFile: string;
}) {
  const { endpoint, credentialsFile } = options;
  console.log(`
${options.title}
  ECS endpoint:  ${endpoint}
  cluster:       ${options.cluster}
  data:          ${options.data}

  credentials:   ${credentialsFile} (profile berth, an admin key; keep it secret)

Try it with the aws cli:
  export AWS_SHARED_CREDENTIALS_FILE=${credentialsFile} AWS_PROFILE=berth AWS_DEFAULT_REGION=us-east-1
  aws ecs register-task-definition --endpoint-url ${endpoint} --family hello \\
    --container-definitions '[{"name":"hello","image":"berth-test/busybox:latest","memory":64,"command":["sleep","600"]}]'
  aws ecs run-task --endpoint-url ${endpoint} --cluster default --task-definition hello
  aws ecs list-tasks --endpoint-url ${endpoint} --cluster default
`);
}

/** On SIGINT/SIGTERM: stop the agent (its containers keep running; a restarted agent re-adopts them), then the plane. */
export function stopOnSignals(agent: { stop(): Promise<void> }, plane: { close(): Promise<void> }) {
  const stop = async () => {
    await agent.stop();
    await plane.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
