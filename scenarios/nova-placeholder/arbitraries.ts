// Generated nova-placeholder cases: hardware, the original server's volumes, and a request
// that boots the placeholder alone, overrides its root (by boot index, by device name, with
// or without /dev/, with a size), or adds volumes, in the v2 and the legacy syntax.
import fc from "fast-check";
import { type PlaceholderCase, type RequestMapping, volumeFixtures } from "./case.js";
import { rootDeviceName } from "./requests.js";

const size = fc.integer({ min: 1, max: 3 });

const hardware = fc.record({
  machineType: fc.constantFrom("pc" as const, "q35" as const),
  firmware: fc.constantFrom("seabios" as const, "ovmf" as const),
  diskBus: fc.constantFrom("virtio" as const, "scsi" as const),
});

function rootMapping(syntax: "v2" | "legacy", root: string): fc.Arbitrary<{ mapping: RequestMapping; volume?: number }> {
  const names = syntax === "legacy" ? [root, root.replace("/dev/", "")] : [undefined, root, root.replace("/dev/", "")];
  const deviceName = fc.constantFrom(...names);
  const byVolume = fc.record({ deviceName, size }).map(({ deviceName, size }) => ({
    mapping: {
      kind: "volume" as const,
      volumeId: volumeFixtures.overrideRoot(size).id,
      bootIndex: 0,
      ...(deviceName !== undefined ? { deviceName } : {}),
    },
    volume: size,
  }));
  const bySnapshot = fc
    .record({ deviceName, volumeSizeGb: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) })
    .map(({ deviceName, volumeSizeGb }) => ({
      mapping: {
        kind: "snapshot" as const,
        bootIndex: 0,
        ...(deviceName !== undefined ? { deviceName } : {}),
        ...(volumeSizeGb !== undefined ? { volumeSizeGb } : {}),
      },
    }));
  return syntax === "legacy" ? byVolume : fc.oneof(byVolume, bySnapshot);
}

function extraMapping(syntax: "v2" | "legacy", root: string): fc.Arbitrary<{ mapping: RequestMapping; volume?: number }> {
  const second = root.replace(/a$/, "b").replace("/dev/", "");
  const names = syntax === "legacy" ? [second, second.replace(/b$/, "c")] : [undefined, `/dev/${second}`];
  const byVolume = fc.record({ deviceName: fc.constantFrom(...names), size }).map(({ deviceName, size }) => ({
    mapping: {
      kind: "volume" as const,
      volumeId: volumeFixtures.extraData(size).id,
      bootIndex: null,
      ...(deviceName !== undefined ? { deviceName } : {}),
    },
    volume: size,
  }));
  const blank = fc.record({ volumeSizeGb: fc.integer({ min: 1, max: 2 }) }).map(({ volumeSizeGb }) => ({
    mapping: { kind: "blank" as const, volumeSizeGb },
  }));
  return syntax === "legacy" ? byVolume : fc.oneof(byVolume, blank);
}

export const placeholderCaseArbitrary: fc.Arbitrary<PlaceholderCase> = fc
  .record({
    hardware,
    originalFlavorRootGb: fc.integer({ min: 0, max: 2 }),
    rootSize: size,
    dataSize: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
    requestFlavorRootGb: fc.integer({ min: 0, max: 2 }),
    syntax: fc.constantFrom("v2" as const, "legacy" as const),
  })
  .chain((base) => {
    const root = rootDeviceName(base.hardware);
    return fc
      .record({
        root: fc.option(rootMapping(base.syntax, root), { nil: undefined }),
        extra: fc.option(extraMapping(base.syntax, root), { nil: undefined }),
      })
      .map(({ root: rootChoice, extra }): PlaceholderCase => {
        const mappings = [rootChoice, extra].filter((m) => m !== undefined);
        return {
          hardware: base.hardware,
          original: {
            flavorRootGb: base.originalFlavorRootGb,
            root: volumeFixtures.originalRoot(base.rootSize),
            data: base.dataSize === undefined ? [] : [volumeFixtures.originalData(base.dataSize)],
          },
          request: {
            flavorRootGb: base.requestFlavorRootGb,
            syntax: base.syntax,
            mappings: mappings.map((m) => m.mapping),
            volumes: [
              ...(rootChoice?.volume !== undefined ? [volumeFixtures.overrideRoot(rootChoice.volume)] : []),
              ...(extra?.volume !== undefined ? [volumeFixtures.extraData(extra.volume)] : []),
            ],
          },
        };
      });
  });
