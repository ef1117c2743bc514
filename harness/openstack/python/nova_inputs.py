# Nova's inputs that every request builds the same way: the flavor, the Instance nova-api
# creates and the network info Neutron would give. Shared by the rescue path (nova_worker.py)
# and the server-create path (nova_boot.py); the values depend on the request only.
import uuid

NETWORK_ID = "b0070000-4e70-4000-8000-000000000001"
PORT_NAMESPACE = uuid.UUID("b0070000-9047-4000-8000-000000000000")


def make_flavor(root_gb, ephemeral_gb, swap_mb, memory_mb):
    from nova import objects

    return objects.Flavor(
        id=1,
        flavorid="bootproof",
        name="bootproof",
        memory_mb=memory_mb,
        vcpus=1,
        root_gb=root_gb,
        ephemeral_gb=ephemeral_gb,
        swap=swap_mb,
        rxtx_factor=1.0,
        vcpu_weight=None,
        extra_specs={},
        is_public=True,
        disabled=False,
        description=None,
    )


def make_instance(ctx, instance_uuid, flavor, image, image_ref, config_drive):
    """The Instance as nova-api records it: image_ref is the image the request named (a
    placeholder snapshot image included), empty for a boot from volume without one."""
    from nova import objects, utils

    return objects.Instance(
        context=ctx,
        id=1,
        uuid=instance_uuid,
        user_id="bootproof",
        project_id="bootproof",
        image_ref=image_ref,
        kernel_id="",
        ramdisk_id="",
        flavor=flavor,
        old_flavor=None,
        new_flavor=None,
        instance_type_id=flavor.id,
        memory_mb=flavor.memory_mb,
        vcpus=flavor.vcpus,
        root_gb=flavor.root_gb,
        ephemeral_gb=flavor.ephemeral_gb,
        config_drive="True" if config_drive else "",
        system_metadata=utils.get_system_metadata_from_image(image, flavor),
        metadata={},
        root_device_name=None,
        default_ephemeral_device=None,
        default_swap_device=None,
        os_type="linux",
        vm_mode=None,
        hostname="bootproof",
        display_name="bootproof",
        display_description="bootproof",
        host="bootproof-compute",
        node="bootproof-compute",
        reservation_id="r-bootproof",
        launch_index=0,
        key_data=None,
        key_name=None,
        user_data=None,
        task_state=None,
        vm_state="building",
        power_state=0,
        numa_topology=None,
        vcpu_model=None,
        pci_requests=objects.InstancePCIRequests(instance_uuid=instance_uuid, requests=[]),
        pci_devices=objects.PciDeviceList(objects=[]),
        trusted_certs=None,
        resources=None,
        migration_context=None,
        device_metadata=None,
        tags=objects.TagList(objects=[]),
        keypairs=objects.KeyPairList(objects=[]),
        services=objects.ServiceList(objects=[]),
        security_groups=objects.SecurityGroupList(objects=[]),
        hidden=False,
        locked=False,
        availability_zone=None,
    )



def make_network_info(instance_uuid, nics):
    from nova.network import model as network_model

    vifs = []
    for index, nic in enumerate(nics):
        port_id = str(uuid.uuid5(PORT_NAMESPACE, "%s/%d" % (instance_uuid, index)))
        subnet = network_model.Subnet(
            cidr="10.0.2.0/24",
            gateway=network_model.IP(address="10.0.2.2", type="gateway"),
            ips=[network_model.FixedIP(address="10.0.2.%d" % (15 + index))],
            dns=[],
            routes=[],
        )
        network = network_model.Network(
            id=NETWORK_ID, bridge="br-bootproof", label="bootproof", subnets=[subnet], meta={}
        )
        vifs.append(
            network_model.VIF(
                id=port_id,
                address=nic["mac"],
                network=network,
                type=nic.get("type") or network_model.VIF_TYPE_BRIDGE,
                devname=("tap" + port_id)[: network_model.NIC_NAME_LEN],
                vnic_type=network_model.VNIC_TYPE_NORMAL,
                details={},
                active=True,
            )
        )
    return network_model.NetworkInfo(vifs)
