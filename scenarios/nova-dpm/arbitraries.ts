// Generated nova-dpm cases: one or two adapter mappings, two or three storage target ports,
// one or two mapped volumes (the boot_index 0 one anywhere in block_device_info) plus LUs of
// other hosts, each vHBA zoned to an ordered subset of the ports, and often the first boot
// target port down. The HBA is one the firmware boots (scenarios/common/hba-firmware.ts).
import fc from "fast-check";
import { SCSI_LIMITS } from "../../emulator/validate.js";
import { bootableHbas, HBA_BOOT_MATRIX } from "../common/hba-firmware.js";
import { ADAPTERS, type DpmVolume, fcConnectionInfo, INSTANCE_UUID, type NovaDpmCase, STORAGE_PORTS } from "./case.js";
import { bootAttempts, createVhbas, parseAdapterMappings } from "./model.js";

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, "0");

/** An ordered, non-empty list of the ports: which target WWPNs Cinder zoned to one host WWPN. */
const zoning = (ports: string[]) => fc.shuffledSubarray(ports, { minLength: 1 });

export const novaDpmCaseArbitrary: fc.Arbitrary<NovaDpmCase> = fc
  .record({
    firmware: fc.constantFrom("seabios" as const, "seabios" as const, "ovmf" as const),
    hbaPick: fc.nat(),
    adapters: fc.integer({ min: 1, max: 2 }),
    adapterPorts: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
    wwpnBase: fc.integer({ min: 1, max: 0xfffff }),
    portCount: fc.integer({ min: 2, max: 3 }),
    mapped: fc.integer({ min: 1, max: 2 }),
    unmapped: fc.integer({ min: 0, max: 1 }),
    bootPosition: fc.nat(),
    lunBase: fc.integer({ min: 0, max: 3 }),
    firstPortDown: fc.boolean(),
    seeds: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
  })
  .chain((r) => {
    const ports = STORAGE_PORTS.slice(0, r.portCount);
    return fc
      .array(fc.array(zoning(ports), { minLength: r.adapters, maxLength: r.adapters }), {
        minLength: r.mapped,
        maxLength: r.mapped,
      })
      .map((maps): NovaDpmCase => {
        const hbas = bootableHbas(r.firmware);
        // A LU per volume: the HBA must address their LUNs (pvscsi: LUN 0 only).
        const candidates = hbas.filter((h) => SCSI_LIMITS[h].maxLun >= r.mapped - 1);
        const hba = candidates[r.hbaPick % candidates.length]!;
        const bootIndex = r.bootPosition % r.mapped;
        // Where the firmware boots only LUN 0 (measured), the boot volume is there.
        const lunOf = (i: number) =>
          HBA_BOOT_MATRIX[r.firmware][hba].bootsAnyLun ? (r.lunBase + i) % 4 : i === bootIndex ? 0 : i + (i < bootIndex ? 1 : 0);
        const hostWwpns = Array.from({ length: r.adapters }, (_, i) => `c05076ffe5${hex(r.wwpnBase + i, 6)}`);
        const volume = (i: number, prefix: string): DpmVolume => ({
          volumeId: `${prefix}-${i}`,
          wwn: `600507680180${hex((r.seeds[i] ?? 0) % 0x1000, 3)}${i}`,
          targetLun: lunOf(i),
        });
        const volumes = Array.from({ length: r.mapped }, (_, i) => volume(i, "vol"));
        // Other hosts' LUs sit after this partition's LUNs (unmapped LUs need no HBA address).
        const unmappedVolumes = Array.from({ length: r.unmapped }, (_, i) => ({
          ...volume(r.mapped + i, "other"),
          targetLun: r.mapped + i + 4,
        }));
        const adapterMappings = ADAPTERS.slice(0, r.adapters).map((a, i) => `${a}:${r.adapterPorts[i]}`);
        const blockDeviceInfo = {
          block_device_mapping: volumes.map((v, i) =>
            fcConnectionInfo(
              hostWwpns,
              Object.fromEntries(hostWwpns.map((w, a) => [w, maps[i]![a]!])),
              v.targetLun,
              i === bootIndex ? 0 : null,
            ),
          ),
        };
        const base: NovaDpmCase = {
          firmware: r.firmware,
          hba,
          adapterMappings,
          hostWwpns,
          instanceUuid: INSTANCE_UUID,
          volumes,
          blockDeviceInfo,
          unmappedVolumes,
          storagePorts: ports,
          downPorts: [],
        };
        // The spec's open question: the first boot target port down. Taken down only where
        // another target port could still boot the volume, so a retrying driver can pass.
        const attempts = bootAttempts("retry", createVhbas(parseAdapterMappings(adapterMappings), hostWwpns), blockDeviceInfo);
        const first = attempts[0]!["boot-world-wide-port-name"];
        const alternative = attempts.some((a) => a["boot-world-wide-port-name"] !== first);
        return r.firstPortDown && alternative ? { ...base, downPorts: [first] } : base;
      });
  });
