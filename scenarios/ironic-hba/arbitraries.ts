// Generated nodes over what Ironic's API and Cinder accept for an FC boot: BIOS or UEFI, each
// capability (the spec's hba_boot, Ironic's fibre_channel_boot) true, false or unset, each
// storage interface, image and force_deployment, targets bare or with Cinder's data, 0-2 WWPN
// and WWNN connectors (not always as many of each), 1-3 volumes with distinct LUNs (sometimes
// without a boot_index 0), each behind one or both target ports. Only HBAs the firmware boots
// (../common/hba-firmware.ts), at LUNs the HBA addresses (the boot LU at 0 where the firmware
// boots LUN 0 only): what the emulation cannot boot is never blamed on Ironic.
import fc from "fast-check";
import type { ScsiControllerKind } from "../../emulator/machine.js";
import { SCSI_LIMITS } from "../../emulator/validate.js";
import type { RootDeviceHints } from "../../harness/openstack/ironic.js";
import { bootableHbas, HBA_BOOT_MATRIX } from "../common/hba-firmware.js";
import type { CapabilityValue, HbaVolume, IronicHbaCase, LocalDisk, RootDeviceHint } from "./case.js";
import { volumeSerial } from "./case.js";

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, "0");
const hexId = (digits: number) =>
  fc
    .array(fc.integer({ min: 0, max: 15 }), { minLength: digits, maxLength: digits })
    .map((d) => d.map((n) => n.toString(16)).join(""));
const uuid = fc.tuple(hexId(8), hexId(4), hexId(3), hexId(3), hexId(12)).map(([a, b, c, d, e]) => `${a}-${b}-4${c}-8${d}-${e}`);

/** The highest LUN both QEMU's HBA and the guest's driver reach (megasas: QEMU 255, megaraid_sas 0). */
const guestMaxLun = (hba: ScsiControllerKind) => (hba === "megasas" ? 0 : SCSI_LIMITS[hba].maxLun);

/** Mostly true (the nodes the spec boots), with false and unset still drawn. */
const capability: fc.Arbitrary<CapabilityValue> = fc.oneof(
  { arbitrary: fc.constant<CapabilityValue>("true"), weight: 8 },
  fc.constant<CapabilityValue>("false"),
  fc.constant<CapabilityValue>(undefined),
);

/** A port's WWPN and WWNN (Emulex-style 10:00 / 20:00 prefixes), from one number. */
const portWwpn = (n: number) => `10000090fa${hex(n, 6)}`;
const portWwnn = (n: number) => `20000090fa${hex(n, 6)}`;

export const ironicHbaCaseArbitrary: fc.Arbitrary<IronicHbaCase> = fc
  .record({
    node: fc.record({
      uuid,
      bootMode: fc.constantFrom<"bios" | "uefi">("bios", "bios", "uefi"),
      hbaBoot: capability,
      fibreChannelBoot: capability,
      storageInterface: fc.oneof(
        { arbitrary: fc.constant<"cinder">("cinder"), weight: 8 },
        { arbitrary: fc.constant<"external">("external"), weight: 4 },
        fc.constant<"noop">("noop"),
      ),
      imageSource: fc.oneof({ arbitrary: fc.constant(false), weight: 6 }, fc.constant(true)),
      forceDeployment: fc.oneof({ arbitrary: fc.constant(false), weight: 8 }, fc.constant(true)),
      targetRegistration: fc.constantFrom<"bare" | "with-connection">("with-connection", "bare"),
    }),
    portBase: fc.integer({ min: 1, max: 0xfff0 }),
    wwpnCount: fc.oneof({ arbitrary: fc.constant(1), weight: 6 }, fc.constant(2), fc.constant(0)),
    /** The WWNNs: one per WWPN (what Cinder's check wants) or a different count. */
    wwnnCount: fc.oneof({ arbitrary: fc.constant<"same">("same"), weight: 6 }, fc.integer({ min: 0, max: 2 })),
    volumeCount: fc.oneof({ arbitrary: fc.constant(1), weight: 4 }, fc.integer({ min: 2, max: 3 })),
    withoutBootVolume: fc.oneof({ arbitrary: fc.constant(false), weight: 9 }, fc.constant(true)),
    hbaPick: fc.nat(),
    luns: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 3, maxLength: 3 }),
    bootLunAny: fc.integer({ min: 0, max: 255 }),
    wwnSeed: fc.integer({ min: 0, max: 0xfffff }),
    volumeIds: fc.array(uuid, { minLength: 3, maxLength: 3 }),
    ports: fc.array(fc.constantFrom([0], [1], [0, 1], [1, 0]), { minLength: 3, maxLength: 3 }),
    /** Sizes in GiB around the agent's 4 GiB floor: whether a disk is a candidate, and which is smallest. */
    volumeSizes: fc.array(fc.constantFrom(4, 5, 8, 10, 20), { minLength: 3, maxLength: 3 }),
    localSizes: fc.array(fc.constantFrom(2, 4, 6, 8, 16), { minLength: 0, maxLength: 2 }),
    /** The hint: none (the agent's default), or one naming a disk by wwn, serial or size. */
    hint: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 3 },
      fc.record({
        source: fc.constantFrom<"properties" | "instance_info">("properties", "instance_info"),
        /** Which disk it names: 0 the boot volume, then the other volumes, then the local disks. */
        disk: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.nat(4)),
        by: fc.constantFrom<"wwn" | "serial" | "size">("wwn", "serial", "size"),
      }),
    ),
  })
  .map((r): IronicHbaCase => {
    const firmware = r.node.bootMode === "uefi" ? "ovmf" : "seabios";
    // The HBA must address every volume's LUN (lsi53c895a and pvscsi: LUN 0 only), and the
    // guest must see them: Linux's megaraid_sas shows no LU at LUN 1 or above (measured).
    const hbas = bootableHbas(firmware).filter((h) => guestMaxLun(h) >= r.volumeCount - 1);
    const hba = hbas[r.hbaPick % hbas.length]!;
    const anyLun = HBA_BOOT_MATRIX[firmware][hba].bootsAnyLun;
    const maxLun = Math.min(255, guestMaxLun(hba));
    // OVMF's virtio-scsi driver scans LUNs 0-7 only (PcdVirtioScsiMaxLunLimit): a boot LU at
    // LUN 253 left OVMF with "map: No mapping found" (measured).
    const bootLun = anyLun ? (firmware === "ovmf" ? r.bootLunAny % 8 : r.bootLunAny) : 0;
    // The boot volume at LUN 0 where the firmware boots only LUN 0; the others at LUNs distinct
    // from it and from each other (the lowest free ones when the drawn LUNs run out).
    const taken = new Set([bootLun]);
    const others = [...new Set(r.luns)].filter((l) => l <= maxLun && !taken.has(l));
    for (const l of others) taken.add(l);
    for (let l = 0; others.length < r.volumeCount - 1 && l <= maxLun; l++)
      if (!taken.has(l)) {
        others.push(l);
        taken.add(l);
      }
    const volumes: HbaVolume[] = Array.from({ length: r.volumeCount }, (_, i) => ({
      // The id starts with the index: distinct however far fast-check shrinks.
      volumeId: `${i.toString(16)}${r.volumeIds[i]!.slice(1)}`,
      bootIndex: r.withoutBootVolume ? i + 1 : i,
      targetLun: i === 0 ? bootLun : others[i - 1]!,
      lunWwn: `6005076801${i}${hex(r.wwnSeed, 5)}`,
      targetPorts: [...r.ports[i]!],
      sizeGiB: r.volumeSizes[i]!,
    }));
    const localDisks: LocalDisk[] = r.localSizes.map((sizeGiB, i) => ({ sizeGiB, serial: `LOCAL${i}${hex(r.wwnSeed, 5)}` }));
    const wwnns = r.wwnnCount === "same" ? r.wwpnCount : r.wwnnCount;
    return {
      node: r.node,
      hba,
      connectors: {
        wwpns: Array.from({ length: r.wwpnCount }, (_, i) => portWwpn(r.portBase + i)),
        wwnns: Array.from({ length: wwnns }, (_, i) => portWwnn(r.portBase + i)),
      },
      volumes,
      localDisks,
      ...(r.hint ? { rootDevice: rootDeviceHint(r.hint, volumes, localDisks) } : {}),
    };
  });

/** Hints naming one of the node's disks (volumes first, then local disks) by one of its identities. */
function rootDeviceHint(
  hint: { source: RootDeviceHint["source"]; disk: number; by: "wwn" | "serial" | "size" },
  volumes: readonly HbaVolume[],
  localDisks: readonly LocalDisk[],
): RootDeviceHint {
  const index = hint.disk % (volumes.length + localDisks.length);
  const volume = volumes[index];
  const local = localDisks[index - volumes.length];
  let hints: RootDeviceHints;
  if (hint.by === "size") hints = { size: (volume ?? local)!.sizeGiB };
  else if (volume) hints = hint.by === "wwn" ? { wwn: `0x${volume.lunWwn}` } : { serial: volumeSerial(volume) };
  // A local disk has no WWN: named by its serial.
  else hints = { serial: local!.serial };
  return { source: hint.source, hints };
}
