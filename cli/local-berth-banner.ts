/** What `npm start` and `npm run start:workers` print once Berth is up, and how both shut down. */
export function printRunningBanner(options: {
  title: string;
  endpoint: string;
  cluster: string;
  data: string;
}) {
  const { endpoint } = options;
  console.log(`
${options.title}
  ECS endpoint:  ${endpoint}
  cluster:       ${options.cluster}
  data:          ${options.data}

Try it with the aws cli (any credentials are accepted for now):
  export AWS_ACCESS_KEY_ID=berth AWS_SECRET_ACCESS_KEY=berth AWS_DEFAULT_REGION=us-east-1
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
