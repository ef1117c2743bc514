// A real boot through iPXE's multipath sanboot with the first path down: the built-in
// target listens on two portals, the first is taken down before the guest starts, and the
// script Ironic would write for a multipath volume (one `sanboot` line with both root
// paths) must boot the LU through the second. iPXE opens every path and keeps the first
// that answers (src/core/sanboot.c), so a refused first portal costs nothing but the path.
//
// The machine is the Ironic node (its NIC's iPXE ROM takes the DHCP bootfile); the script
// comes from bootproof's HTTP server; the guest reports the volume it booted and its iBFT.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderSanBootScript } from "../../firmware/ipxe/index.js";
import { prepareBoot } from "../../harness/boot/prepare.js";
import { runBoot } from "../../harness/boot/run-boot.js";
import { startHttpServer } from "../../harness/http/index.js";
import type { IscsiEvent } from "../../harness/iscsi/connection.js";
import { startIscsiTarget } from "../../harness/iscsi/target.js";
import { nodeMachine } from "../../scenarios/ironic/node-machine.js";

const IQN = "iqn.2010-10.org.openstack:volume-multipath";
const INITIATOR = "iqn.2010-04.org.openstack:node-multipath";
const ROLE = "volume-multipath";
const GUEST_HOST = "10.0.2.2";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "bp-iscsi-multipath-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("iSCSI multipath boot", () => {
  it("iPXE's multipath sanboot boots through the second portal when the first is down", async () => {
    const httpRoot = join(dir, "http");
    await mkdir(httpRoot, { recursive: true });
    const http = await startHttpServer({ root: httpRoot });
    const machineInput = nodeMachine({
      nodeUuid: "5e1f0c2a-0000-4e5f-8a7b-1c2d3e4f5a6b",
      bootMode: "bios",
      bootFile: http.url("boot.ipxe", GUEST_HOST),
    });
    const prepared = await prepareBoot({ machine: machineInput }, [{ kind: "bios-disk", role: ROLE }]);
    const events: IscsiEvent[] = [];
    const target = await startIscsiTarget({
      portals: [{ port: 0 }, { port: 0 }],
      targets: [{ iqn: IQN, luns: [{ lun: 0, backend: { kind: "overlay", base: prepared.extraMediaPaths[0]! } }] }],
      logger: (e) => events.push(e),
    });
    try {
      const [down, up] = target.portals.map((p) => p.port);
      await target.closePortal(0);
      const script = renderSanBootScript(
        {
          initiatorIqn: INITIATOR,
          volumes: [
            {
              bootIndex: 0,
              targetIqn: IQN,
              lun: 0,
              portals: [
                { host: GUEST_HOST, port: down! },
                { host: GUEST_HOST, port: up! },
              ],
            },
          ],
        },
        { retryDelaySeconds: false },
      );
      // One sanhook line naming both paths, the down one first.
      expect(script).toContain(`sanhook --drive 0x80 iscsi:${GUEST_HOST}::${down}:0:${IQN} iscsi:${GUEST_HOST}::${up}:0:${IQN} `);
      await writeFile(join(httpRoot, "boot.ipxe"), script);
      const result = await runBoot(prepared.machine, {
        artifactDir: join(dir, "artifacts"),
        accelerator: "tcg",
        deadlineMs: 150_000,
      });
      expect(result.status, result.status === "observed" ? "" : result.consoleTail.slice(-20).join("\n")).toBe("observed");
      if (result.status !== "observed") return;
      expect(result.observation.role).toBe(ROLE);
      // Every connection came in through the second portal, and the guest logged in there.
      const opened = events.filter((e) => e.type === "connection-open");
      expect(opened.length).toBeGreaterThan(0);
      for (const e of opened) expect(e.type === "connection-open" && e.portal).toBe(`127.0.0.1:${up}`);
      expect(events.some((e) => e.type === "login" && e.initiator === INITIATOR && e.target === IQN)).toBe(true);
      // The iBFT the firmware left describes both paths, in the script's order, so the OS
      // can log in through whichever works.
      const ibftTargets = Object.entries(result.observation.ibft ?? {}).filter(([s]) => s.startsWith("target"));
      expect(ibftTargets.map(([, a]) => `${a["target-name"]} ${a["ip-addr"]}:${a.port}`)).toEqual([
        `${IQN} ${GUEST_HOST}:${down}`,
        `${IQN} ${GUEST_HOST}:${up}`,
      ]);
    } finally {
      await target.close();
      await http.close();
    }
  }, 240_000);
});
