/**
 * The one error type of the control plane. It carries the ECS error name that clients
 * match on (the `__type` of the JSON 1.1 protocol) and the HTTP status it is sent with.
 * Domain code throws it; the API front renders it in one place (worker/api/ecs-protocol.ts).
 */
export type EcsErrorName =
  | 'AccessDeniedException'
  | 'AttributeLimitExceededException'
  | 'ClientException'
  | 'ClusterContainsContainerInstancesException'
  | 'ClusterContainsServicesException'
  | 'ClusterContainsTasksException'
  | 'ClusterNotFoundException'
  | 'ConflictException'
  | 'IncompleteSignatureException'
  | 'InvalidSignatureException'
  | 'MissingAuthenticationTokenException'
  | 'InvalidParameterException'
  | 'LimitExceededException'
  | 'ResourceInUseException'
  | 'ResourceNotFoundException'
  | 'ServerException'
  | 'ServiceDeploymentNotFoundException'
  | 'ServiceNotActiveException'
  | 'ServiceNotFoundException'
  | 'TargetNotConnectedException'
  | 'TargetNotFoundException'
  | 'ThrottlingException'
  | 'UnrecognizedClientException'
  | 'UnknownOperationException'
  | 'UnsupportedFeatureException';

export class EcsError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly errorName: EcsErrorName,
    message: string,
  ) {
    super(message);
    this.name = errorName;
    // ServerException is the model's only fault; every other error is the caller's to fix.
    this.httpStatus = errorName === 'ServerException' ? 500 : 400;
  }
}

export const invalidParameter = (message: string): EcsError =>
  new EcsError('InvalidParameterException', message);
export const clientError = (message: string): EcsError => new EcsError('ClientException', message);

/** Enough of a rejected value to recognise it in an error message, never all of a megabyte. */
export function excerpt(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}...` : value;
}
