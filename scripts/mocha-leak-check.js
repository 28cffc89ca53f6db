'use strict';
// Root hook: the suite runs without --exit, so a socket, timer or child process
// that a test forgot keeps the process alive. After the last test, name what is
// still open and fail within seconds instead of hanging.
const GRACE_MS = 5000;
const STDIO = new Set(['TTYWrap', 'PipeWrap', 'FSReqCallback', 'FSReqPromise']);

exports.mochaHooks = {
  afterAll() {
    const timer = setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((kind) => !STDIO.has(kind));
      console.error(`\nOpen handles ${GRACE_MS} ms after the last test: ${open.join(', ') || '(none reported)'}`);
      process.exit(1);
    }, GRACE_MS);
    timer.unref();
  },
};
