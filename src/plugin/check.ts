/** CHECK: the record exists, is complete, and its device is in the pod's netns. */
import { CniError, ErrorCode } from "../errors.ts";
import { describeKey } from "../state/store.ts";
import type { PluginDeps, Request } from "./deps.ts";
import { deviceInNetns, openPodNetns, requireExclusiveMode } from "./kernel-steps.ts";

export function check(req: Request, deps: PluginDeps): void {
  const { env, conf, key } = req;
  // CNI_NETNS is input: checked before the store is opened, so a refused CHECK writes nothing.
  const pod = openPodNetns(deps, env.netns, "CNI_NETNS");
  try {
    const record = req.openStore().get(key);
    const where = describeKey(key);
    if (!record) throw new CniError(ErrorCode.CheckFailed, `CHECK: no attachment record for ${where}`);
    if (record.phase !== "attached") throw new CniError(ErrorCode.CheckFailed, `CHECK: the attachment for ${where} is in phase ${record.phase}, not attached`);
    if (conf.deviceId && conf.deviceId.id !== record.deviceId) {
      throw new CniError(ErrorCode.CheckFailed, `CHECK: ${conf.deviceIdField} is ${conf.deviceId.id} but the attachment holds ${record.deviceId}`);
    }
    const seen = record.podRdmaDevice ?? record.rdmaDevice;
    if (conf.rdmaDeviceName !== undefined && conf.rdmaDeviceName !== seen) {
      throw new CniError(ErrorCode.CheckFailed, `CHECK: ${conf.rdmaDeviceNameField} is ${conf.rdmaDeviceName} but the attachment gave the pod ${seen}`);
    }
    requireExclusiveMode(deps);
    const device = deviceInNetns(deps, pod, record.rdmaIndex);
    if (!device) throw new CniError(ErrorCode.CheckFailed, `CHECK: RDMA device ${seen} is not in netns ${env.netns}`);
    if (device.name !== seen) {
      throw new CniError(ErrorCode.CheckFailed, `CHECK: RDMA device ${record.rdmaIndex} in netns ${env.netns} is named ${device.name}, expected ${seen}`);
    }
  } finally {
    deps.netns.close(pod);
  }
}
