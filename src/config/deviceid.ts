/**
 * deviceID: the PCI address of a VF (`0000:03:00.5`) or the name of an auxiliary device such as a
 * sub-function (`mlx5_core.sf.4`). Validated strictly, because it becomes a sysfs path component.
 */
export type DeviceId = { kind: "pci"; id: string } | { kind: "aux"; id: string };

// Domain is 4 hex digits on most machines, more behind VMD or on some hypervisors.
const PCI_ADDRESS = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/;
// <driver module>.<device kind>.<id>, as the auxiliary bus names its devices.
const AUX_NAME = /^[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_]{0,31}\.[0-9]{1,9}$/;

/** Returns the parsed id, or a reason why it is not one. */
export function parseDeviceId(value: string): DeviceId | { error: string } {
  const lower = value.toLowerCase();
  if (PCI_ADDRESS.test(lower)) return { kind: "pci", id: lower };
  if (AUX_NAME.test(value)) return { kind: "aux", id: value };
  return {
    error: `${JSON.stringify(value.slice(0, 80))} is neither a PCI address (like 0000:03:00.5) nor an auxiliary device name (like mlx5_core.sf.4)`,
  };
}

export function isDeviceId(v: DeviceId | { error: string }): v is DeviceId {
  return "kind" in v;
}
