import Testing

/// The suites that drive child processes (the `runtime` binary, its Lambda loop), run one test at a
/// time across all of them. Each such test blocks a thread of Swift's cooperative pool while its child
/// runs, and that pool has one thread per core: two at once on a two-core machine would leave no
/// thread for every other test's async work, and its timing assertions would fail for no fault of
/// the code under test.
@Suite(.serialized) enum ProcessDrivingTests {}
