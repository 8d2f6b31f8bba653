// What `harrier:detector/host@0.2.0` resolves to under Node (see
// register.js): the host functions, answered by one FakeHost, `nativeHost`,
// outside any harness (a harness or a self-test installs its own).

import { FakeHost } from './fake-host.js';

/** The fake host answering host calls made outside a harness. */
export const nativeHost = new FakeHost();

export const log = (level, message) => nativeHost.log(level, message);
export const nowNs = () => nativeHost.nowNs();
export const process = (pid) => nativeHost.process(pid);
export const ancestry = (pid, maxDepth) => nativeHost.ancestry(pid, maxDepth);
export const recentWrite = (path) => nativeHost.recentWrite(path);
export const intelMatch = (kind, value) => nativeHost.intelMatch(kind, value);
