/**
 * The exported Lambda handler, as a thin wrapper around a testable one: the wrapper
 * builds the dependencies at the first invocation and keeps them for the container's
 * life (clients, connection pools, the OAuth token cache, the secret cache).
 *
 * Lazily, not at module load, so that importing a handler module has no side effects:
 * a test (or the bundle benchmark) can load it without AWS or configuration. A build
 * that throws — a ConfigError naming the variables — is not kept: every invocation
 * fails with the same clear message until the configuration is fixed, rather than
 * the first one failing and the next ones meeting half-built state.
 */
export function lambdaHandler<Deps, Event, Context, Result>(
  build: () => Deps,
  handle: (event: Event, context: Context, deps: Deps) => Promise<Result>,
): (event: Event, context: Context) => Promise<Result> {
  let built: { deps: Deps } | undefined;
  return async (event, context) => {
    built ??= { deps: build() };
    return handle(event, context, built.deps);
  };
}
