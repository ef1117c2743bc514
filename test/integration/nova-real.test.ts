// nova-rescue on the real driver, in real guests: Debian's Nova writes the domains, embedded
// libvirt defines them and writes QEMU's command line, the guests report what they see. One
// case passes every property; the default virtio rescue shows the defect bootproof found in
// real Nova (the balloon and RNG PCI functions move); a Nova tree with one line of the rescue
// path changed (--nova-src) turns the passing case into a failing one.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { realNovaScenario } from "../../scenarios/nova/real/index.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-nova-real-it");
const settings = (name: string, example: string) => ({
  artifactsRoot: artifactsDir(name),
  accelerator: "tcg" as const,
  jobs: 1,
  example,
});
const PASSING_EXAMPLE = "scsi-volume-ide-cdrom-rescue";
const propertyOf = (result: { properties: Array<{ name: string; ok: boolean; message?: string }> }, prefix: string) =>
  result.properties.find((p) => p.name.startsWith(prefix));

let patchedNova: string | undefined;
afterAll(async () => {
  if (patchedNova) await rm(patchedNova, { recursive: true, force: true });
});

describe("nova-rescue --driver real", () => {
  it("boots the normal, rescue and unrescue domains real Nova and libvirt build, and an IDE cdrom rescue keeps every device", async () => {
    const summary = await runScenario(realNovaScenario(), settings("passing", PASSING_EXAMPLE));
    const [result] = summary.cases;
    expect(result?.boots.map((b) => b.status)).toEqual(["observed", "observed", "observed"]);
    expect(result?.properties.filter((p) => !p.ok)).toEqual([]);
    expect(result?.properties.map((p) => p.name.split("-")[0])).toEqual([
      "S0",
      "S1",
      "S3",
      "S6",
      "S7",
      "P1",
      "P2",
      "P3",
      "P4",
      "P5",
      "P6",
      "P7",
    ]);
    expect(result?.verdict).toBe("pass");
    // The QEMU that ran is libvirt's command line (its own -name, TCG for <domain type='qemu'>).
    const rescueDir = join(summary.artifactsDir, `example-${PASSING_EXAMPLE}`, "rescue");
    const command = await readFile(join(rescueDir, "command.sh"), "utf8");
    expect(command).toMatch(/-name guest=instance-00000001/);
    expect(command).toMatch(/-accel tcg/);
    expect(await readFile(join(rescueDir, "driver.xml"), "utf8")).toMatch(/disk\.rescue/);
    expect(await readFile(join(rescueDir, "libvirt-dumpxml.xml"), "utf8")).toMatch(/<address type='pci'/);
    const observation = JSON.parse(await readFile(join(rescueDir, "observation.json"), "utf8"));
    expect(observation.role).toBe("rescue");
  }, 600_000);

  it("reports the devices real Nova's virtio rescue moves, in libvirt's and in the guest's terms", async () => {
    const summary = await runScenario(realNovaScenario(), settings("virtio", "virtio-root-virtio-rescue-seabios-pc"));
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    // Storage stays where it was; every other finding is the balloon and RNG functions shifting.
    for (const name of ["S0", "S1", "S3", "S6", "P1", "P2", "P3", "P4", "P5", "P6"])
      expect(propertyOf(result!, name)?.ok).toBe(true);
    expect(propertyOf(result!, "S7")?.message).toMatch(
      /memballoon virtio moved from PCI 00:06\.0 to PCI 00:07\.0 in the rescue domain/,
    );
    expect(propertyOf(result!, "P7")?.message).toMatch(
      /virtio-balloon \(1af4:1002\) moved from PCI 00:06\.0 to PCI 00:07\.0 in the rescue boot/,
    );
    expect(propertyOf(result!, "P7")?.message).toMatch(/virtio-rng \(1af4:1005\) moved from PCI 00:07\.0 to PCI 00:08\.0/);
  }, 600_000);

  it("a Nova tree with the rescue disk placed first (--nova-src) turns the passing case into a failing one", async () => {
    patchedNova = await mkdtemp(join(tmpdir(), "bp-nova-src-"));
    execFileSync("cp", ["-r", "/usr/lib/python3/dist-packages/nova", patchedNova]);
    const driverPy = join(patchedNova, "nova", "virt", "libvirt", "driver.py");
    const source = await readFile(driverPy, "utf8");
    // The one line: _get_guest_storage_config appends the stable rescue disk last.
    const line =
      "                instance, 'disk.rescue', disk_mapping, flavor, boot_order='1')\n            devices.append(diskrescue)";
    expect(source.split(line)).toHaveLength(2);
    await writeFile(driverPy, source.replace(line, line.replace("devices.append(diskrescue)", "devices.insert(0, diskrescue)")));

    const summary = await runScenario(realNovaScenario({ novaSrc: patchedNova }), settings("patched", PASSING_EXAMPLE));
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(propertyOf(result!, "S6")?.message).toMatch(
      /Nova wrote the rescue disk hd[a-z] as disk 1 of \d; it must be attached last/,
    );
  }, 600_000);
});
