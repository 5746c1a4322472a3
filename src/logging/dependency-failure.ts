import type { FastifyRequest } from 'fastify';

/** The services this one needs to answer, whose failure is answered 503. */
export const DEPENDENCIES = ['database'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

export interface DependencyFailure {
  dependency: Dependency;
  /** The failure's code as the driver gives it (`SQLITE_BUSY`, `57014`), never its message. */
  cause: string;
}

const failures = new WeakMap<FastifyRequest, DependencyFailure>();

/**
 * Notes that `request` was answered 503 because `failure.dependency`
 * failed, for its request line and the metrics, both written once the
 * response is sent.
 */
export function recordDependencyFailure(
  request: FastifyRequest,
  failure: DependencyFailure,
): void {
  failures.set(request, failure);
}

export function dependencyFailureOf(
  request: FastifyRequest,
): DependencyFailure | undefined {
  return failures.get(request);
}
