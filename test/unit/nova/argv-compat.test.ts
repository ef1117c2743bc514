// The nova topologies must be consumable by the real emulator: every generated machine turns
// into a QEMU command line, with the rescue device carrying bootindex 0.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildQemuCommand } from "../../../emulator/argv.js";
import { parseMachine } from "../../../emulator/validate.js";
import { novaCaseArbitrary } from "../../../scenarios/nova/arbitraries.js";
import { libvirtDriver } from "../../../scenarios/nova/driver.js";

describe("nova machines -> QEMU argv", () => {
  it("builds a command for 300 generated rescue machines, the rescue device last with bootindex 0", () => {
    fc.assert(
      fc.property(novaCaseArbitrary, (input) => {
        const topology = libvirtDriver.rescue(input.instance, input.rescue);
        // Media paths are filled in by the harness; any non-empty path satisfies argv building.
        const machine = parseMachine({
          ...topology.machine,
          drives: (topology.machine.drives ?? []).map((d) => ({ ...d, file: `/cache/${d.id}.img` })),
        });
        const { argv } = buildQemuCommand(machine, { ovmfVars: "/run/vars.fd", firmwareLog: "/run/fw.log" });
        const rescueDevice = machine.disks.at(-1)!;
        const line =
          rescueDevice.kind === "floppy"
            ? argv.find((a) => /bootindexA=0/.test(a))
            : [...argv].reverse().find((a) => a.includes(`id=${rescueDevice.id},`));
        expect(line, argv.join(" ")).toBeDefined();
        if (rescueDevice.kind !== "floppy") expect(line).toMatch(/bootindex=0(,|$)/);
      }),
      { seed: 4, numRuns: 300 },
    );
  });
});
