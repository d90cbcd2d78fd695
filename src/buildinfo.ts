/** Version, commit and build date, stamped in by `bun build --define` (see Makefile). */
declare const RDMA_CNI_VERSION: string | undefined;
declare const RDMA_CNI_COMMIT: string | undefined;
declare const RDMA_CNI_BUILD_DATE: string | undefined;

export const buildInfo = {
  version: typeof RDMA_CNI_VERSION === "string" ? RDMA_CNI_VERSION : "dev",
  commit: typeof RDMA_CNI_COMMIT === "string" ? RDMA_CNI_COMMIT : "unknown",
  buildDate: typeof RDMA_CNI_BUILD_DATE === "string" ? RDMA_CNI_BUILD_DATE : "unknown",
};

export function versionLine(): string {
  return `rdma CNI plugin version ${buildInfo.version} commit ${buildInfo.commit} built ${buildInfo.buildDate}`;
}
