// A case → the records Ironic's API would hold for it (node, port, connector, targets) and
// what Cinder answers. Pure: the Ironic worker receives exactly this.
import { IRONIC_INSTANCE_IMAGE, type IronicRequest, type IronicTargetProperties } from "../../../harness/openstack/ironic.js";
import { type IronicRealCase, type IronicVolume, NODE_MAC, portalIqn, portalText } from "./case.js";

/**
 * A volume's connection data as os-brick's iSCSI connector and Cinder's drivers name it. No
 * OpenStack driver names mutual CHAP credentials; they go under iPXE's own setting names, the
 * one place an operator could put them.
 */
export function connectionProperties(volume: IronicVolume): IronicTargetProperties {
  const { connection } = volume;
  const portals = connection.portals.map(portalText);
  const properties: IronicTargetProperties = {
    target_iqn: connection.targetIqn,
    target_lun: connection.targetLun,
    target_portal: portals[0]!,
    target_discovered: false,
  };
  if (connection.listForm) {
    properties.target_portals = portals;
    properties.target_iqns = portals.map((_, i) => portalIqn(volume, i));
    properties.target_luns = portals.map(() => connection.targetLun);
  }
  if (connection.chap) {
    properties.auth_method = "CHAP";
    properties.auth_username = connection.chap.username;
    properties.auth_password = connection.chap.password;
    if (connection.chap.reverse) {
      properties.reverse_username = connection.chap.reverse.username;
      properties.reverse_password = connection.chap.reverse.password;
    }
  }
  return properties;
}

export function ironicRequest(input: IronicRealCase): IronicRequest {
  const { node } = input;
  const cinder = node.storageInterface === "cinder";
  const bare = cinder && node.targetRegistration === "bare";
  return {
    node: {
      uuid: node.uuid,
      boot_mode: node.bootMode,
      capabilities: node.iscsiBoot ? { iscsi_boot: node.iscsiBoot } : {},
      storage_interface: node.storageInterface,
      boot_interface: "ipxe",
      deploy_interface: node.deployInterface,
      instance_info: node.imageSource ? { image_source: IRONIC_INSTANCE_IMAGE, root_gb: "10" } : {},
    },
    mac: NODE_MAC,
    connectors: input.connector ? [{ type: "iqn", connector_id: input.connector.connectorId }] : [],
    targets: input.volumes.map((volume) => ({
      volume_id: volume.volumeId,
      boot_index: volume.bootIndex,
      volume_type: "iscsi",
      // With Cinder the target is registered bare and Cinder's answer is written onto it at
      // attach; with external (and noop) storage the operator registers the data itself.
      properties: bare ? {} : connectionProperties(volume),
      ...(cinder ? { cinder_connection: connectionProperties(volume) } : {}),
    })),
  };
}
