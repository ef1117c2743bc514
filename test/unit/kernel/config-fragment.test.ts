import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkConfig, describeMismatches, parseKconfig } from "../../../firmware/kernel/config-fragment.js";

describe("Kconfig fragments", () => {
  it("reads assignments and 'is not set' lines, skipping comments and blank lines", () => {
    const lines = parseKconfig(
      '# a comment\n\nCONFIG_PCI=y\n# CONFIG_SCSI_SCAN_ASYNC is not set\nCONFIG_LOCALVERSION="-probe"\nCONFIG_ATA_PIIX=m\n',
      "f",
    );
    expect(lines).toEqual([
      { symbol: "CONFIG_PCI", value: "y", line: 3 },
      { symbol: "CONFIG_SCSI_SCAN_ASYNC", value: "n", line: 4 },
      { symbol: "CONFIG_LOCALVERSION", value: '"-probe"', line: 5 },
      { symbol: "CONFIG_ATA_PIIX", value: "m", line: 6 },
    ]);
  });

  it("refuses a line that is neither an assignment nor a comment, and a symbol set twice", () => {
    expect(() => parseKconfig("CONFIG_PCI=y\nPCI=y\n", "probe.config")).toThrow(/probe\.config:2: 'PCI=y' is neither/);
    expect(() => parseKconfig("CONFIG_PCI=y\n# CONFIG_PCI is not set\n", "probe.config")).toThrow(
      /probe\.config:2: CONFIG_PCI is already set on line 1/,
    );
  });

  it("finds the fragment lines Kconfig dropped or changed, an absent symbol counting as n", () => {
    const fragment = parseKconfig("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=y\n", "f");
    const resolved = parseKconfig("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_D is not set\n", ".config");
    const mismatches = checkConfig(fragment, resolved);
    expect(mismatches).toEqual([
      { symbol: "CONFIG_B", wanted: "m", got: "y", line: 2 },
      { symbol: "CONFIG_D", wanted: "y", got: "n", line: 4 },
    ]);
    expect(describeMismatches(mismatches, "probe.config")).toContain("probe.config:4: CONFIG_D wanted y, Kconfig made it n");
    expect(checkConfig(fragment.slice(0, 1), resolved)).toEqual([]);
  });

  // The decision recorded in probe.config and firmware/probe/README.md: drivers whose load
  // order names devices (SCSI hosts, sdX/srN, ethN) stay modules, loaded in the probe's order.
  it("keeps the shipped fragment's ordering-relevant drivers as modules and the cores built in", () => {
    const path = new URL("../../../firmware/kernel/probe.config", import.meta.url);
    const values = new Map(parseKconfig(readFileSync(path, "utf8"), "probe.config").map((l) => [l.symbol, l.value]));
    for (const driver of ["ATA_PIIX", "SATA_AHCI", "SCSI_VIRTIO", "SCSI_SYM53C8XX_2", "BLK_DEV_SD", "BLK_DEV_SR"])
      expect(values.get(`CONFIG_${driver}`), driver).toBe("m");
    for (const driver of ["E1000", "E1000E", "VIRTIO_NET", "8139TOO", "USB_XHCI_PCI", "USB_STORAGE", "VIRTIO_PCI"])
      expect(values.get(`CONFIG_${driver}`), driver).toBe("m");
    for (const core of ["SCSI", "ATA", "USB", "FW_CFG_SYSFS", "ISCSI_IBFT", "NFS_FS", "NFS_V3", "ACPI", "EFI_STUB"])
      expect(values.get(`CONFIG_${core}`), core).toBe("y");
    expect(values.get("CONFIG_SCSI_SCAN_ASYNC")).toBe("n");
  });
});
