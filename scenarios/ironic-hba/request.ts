// A case → the records Ironic's API would hold for it (node, port, wwpn/wwnn connectors,
// fibre_channel targets) and what Cinder's initialize_connection answers. Pure: the Ironic
// worker receives exactly this.
import { IRONIC_INSTANCE_IMAGE, type IronicRequest, type IronicTargetProperties } from "../../harness/openstack/ironic.js";
import { NODE_MAC } from "../ironic/node-machine.js";
import { type HbaVolume, type IronicHbaCase, targetWwns } from "./case.js";

/**
 * Cinder's FC connection info (os-brick's fibre_channel properties): the target WWPNs, the
 * LUN, and which target ports each of the node's WWPNs is zoned to.
 */
export function fcConnectionProperties(input: IronicHbaCase, volume: HbaVolume): IronicTargetProperties {
  const targets = targetWwns(volume);
  return {
    target_discovered: false,
    target_wwn: targets,
    target_lun: volume.targetLun,
    initiator_target_map: Object.fromEntries(input.connectors.wwpns.map((wwpn) => [wwpn, [...targets]])),
  };
}

function capabilities(input: IronicHbaCase): Record<string, string> {
  const { hbaBoot, fibreChannelBoot } = input.node;
  return {
    ...(hbaBoot !== undefined ? { hba_boot: hbaBoot } : {}),
    ...(fibreChannelBoot !== undefined ? { fibre_channel_boot: fibreChannelBoot } : {}),
  };
}

export function hbaIronicRequest(input: IronicHbaCase): IronicRequest {
  const { node } = input;
  const cinder = node.storageInterface === "cinder";
  const bare = cinder && node.targetRegistration === "bare";
  return {
    node: {
      uuid: node.uuid,
      boot_mode: node.bootMode,
      capabilities: capabilities(input),
      storage_interface: node.storageInterface,
      boot_interface: "ipxe",
      deploy_interface: "direct",
      // manual-management's default: the operator's out-of-band boot device, which takes disk.
      management_interface: "noop",
      instance_info: {
        ...(node.imageSource ? { image_source: IRONIC_INSTANCE_IMAGE, root_gb: "10" } : {}),
        ...(node.forceDeployment ? { force_deployment: "true" } : {}),
        ...(input.rootDevice?.source === "instance_info" ? { root_device: input.rootDevice.hints } : {}),
      },
      ...(input.rootDevice?.source === "properties" ? { root_device: input.rootDevice.hints } : {}),
    },
    mac: NODE_MAC,
    connectors: [
      ...input.connectors.wwpns.map((id) => ({ type: "wwpn" as const, connector_id: id })),
      ...input.connectors.wwnns.map((id) => ({ type: "wwnn" as const, connector_id: id })),
    ],
    targets: input.volumes.map((volume) => ({
      volume_id: volume.volumeId,
      boot_index: volume.bootIndex,
      volume_type: "fibre_channel",
      properties: bare ? {} : fcConnectionProperties(input, volume),
      ...(cinder ? { cinder_connection: fcConnectionProperties(input, volume) } : {}),
    })),
  };
}
