/**
 * deviceID: the PCI address of a VF (`0000:03:00.5`) or the name of an auxiliary device such as a
 * sub-function (`mlx5_core.sf.4`). Validated strictly, because it becomes a sysfs path component.
 */
import { isAuxName, isPciAddress } from "./chars.ts";

export type DeviceId = { kind: "pci"; id: string } | { kind: "aux"; id: string };

/** A deviceID and where it came from (a config field, prevResult, the pod's netdev), for messages. */
export interface NamedDevice {
  deviceId: DeviceId;
  source: string;
}

// A PCI address's domain is 4 hex digits on most machines, more behind VMD or on some
// hypervisors; an auxiliary device is named <driver module>.<device kind>.<id> (config/chars.ts).

/** Returns the parsed id, or a reason why it is not one. */
export function parseDeviceId(value: string): DeviceId | { error: string } {
  const lower = value.toLowerCase();
  if (isPciAddress(lower)) return { kind: "pci", id: lower };
  if (isAuxName(value)) return { kind: "aux", id: value };
  return {
    error: `${JSON.stringify(value.slice(0, 80))} is neither a PCI address (like 0000:03:00.5) nor an auxiliary device name (like mlx5_core.sf.4)`,
  };
}

export function isDeviceId(v: DeviceId | { error: string }): v is DeviceId {
  return "kind" in v;
}
