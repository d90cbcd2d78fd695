/**
 * The engine's defaults that reach beyond `rdma engine` itself: the installer writes the socket
 * path into systemd's rdma-engine.socket, and the DaemonSet's manifest names both (its memory
 * limit follows the thread count, test/deploy checks it). A module of its own, so that those
 * import two constants rather than the engine's entry point (main.ts).
 */

export const DEFAULT_ENGINE_SOCKET = "/run/rdma-cni/engine.sock";
/**
 * Threads serving calls at most; more calls wait in the listen backlog. Each busy thread costs
 * about 3.3 MiB: the DaemonSet's memory limit is 80 MiB + 4 MiB per thread (docs/deploy.md).
 */
export const DEFAULT_MAX_WORKERS = 16;
