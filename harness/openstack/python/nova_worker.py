# The real Nova libvirt driver (Debian's python3-nova, or a user's tree first on PYTHONPATH)
# decides the normal and the stable-device rescue domain XML of one bootproof case.
#
# Only Nova's *inputs* are built here: the Instance and Flavor, the image metadata, the block
# device mappings nova-api creates, the network info and the device names nova-compute gives.
# Everything after that is Nova's own chain: get_block_device_info, blockinfo.get_disk_info,
# LibvirtDriver._get_guest_xml, and for the rescue what LibvirtDriver.rescue() does up to its
# XML (check_hw_rescue_props, rescue=True disk info with the rescue image meta, the rescue
# image dict). No service, database, Glance or Cinder is involved: libvirt is Nova's own
# fakelibvirt (LibvirtFixture), and only four calls are stubbed (the BDM database write,
# os-brick's volume connect, the O_DIRECT probe of the instances directory, the disk.info
# file the image backend writes).
#
# Protocol: harness/openstack/python/bootproof_worker.py; TypeScript client:
# harness/openstack/nova.ts.
import copy
import importlib
import math
import os
import sys
import traceback
import types

from bootproof_worker import serve
from nova_answers import domain_disks, qualified_name
from nova_inputs import make_flavor, make_instance, make_network_info

# Fixed ids: the case does not name images or ports, and the XML must depend on the input only.
ROOT_IMAGE_ID = "b0070000-1a9e-4000-8000-000000000001"
RESCUE_IMAGE_ID = "b0070000-1a9e-4000-8000-00000000000e"
INSTANCES_PATH = "/var/lib/nova/instances"
VOLUME_DEVICE_PREFIX = "/dev/disk/by-id/bootproof-volume-"

BOOTPROOF_CONNECTOR = {"host": "bootproof-compute", "ip": "127.0.0.1", "initiator": "iqn.2024-01.org.bootproof:compute", "multipath": False}
_SCSI_MODELS = {"virtio-scsi": "virtio-scsi", "lsilogic": "lsilogic"}


def _load_nova_test_fixture(nova_dir):
    """nova.tests.fixtures.libvirt without nova/tests/__init__ (eventlet.monkey_patch, +5 s)
    and nova/tests/fixtures/__init__ (imports wsgi_intercept, not installed): register the
    two packages as bare modules whose __path__ points at their directories."""
    for name, rel in (("nova.tests", "tests"), ("nova.tests.fixtures", os.path.join("tests", "fixtures"))):
        if name in sys.modules:
            continue
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(nova_dir, rel)]
        package.__package__ = name
        sys.modules[name] = package
    return importlib.import_module("nova.tests.fixtures.libvirt")


class _Nova:
    """The one-time setup: everything later requests share."""

    def __init__(self):
        import nova
        import nova.conf
        import nova.conf.neutron
        from nova import config, objects

        self.nova_dir = os.path.dirname(os.path.abspath(nova.__file__))
        self.CONF = nova.conf.CONF
        config.parse_args([], default_config_files=[], configure_db=False, init_rpc=False)
        nova.conf.neutron.register_dynamic_opts(self.CONF)
        objects.register_all()
        self.CONF.set_override("virt_type", "qemu", group="libvirt")
        # What Debian's packaged nova.conf sets; the default ($pybasedir) would make the disk
        # paths depend on where the Nova tree is.
        self.CONF.set_override("state_path", "/var/lib/nova")
        self.CONF.set_override("instances_path", INSTANCES_PATH)

        fakelibvirt = _load_nova_test_fixture(self.nova_dir)
        self.fixture = fakelibvirt.LibvirtFixture()
        self.fixture.setUp()  # kept for the worker's lifetime: its patches stay active

        import nova.privsep.utils
        from nova.virt import fake as fake_virt
        from nova.virt.libvirt import driver as libvirt_driver

        # The only database write on this path; the objects keep the values it would store.
        objects.BlockDeviceMapping.save = lambda self, *args, **kwargs: None
        # os-brick: the connection_info below already carries the attached device's path.
        libvirt_driver.LibvirtDriver._connect_volume = lambda self, *args, **kwargs: None
        # os-brick's host probe (it starts a privsep daemon): the connector of this host, as
        # Cinder's stand-in only records it.
        libvirt_driver.LibvirtDriver.get_volume_connector = lambda self, instance: dict(BOOTPROOF_CONNECTOR)
        # The O_DIRECT probe of the instances directory: a local filesystem supports it.
        nova.privsep.utils.supports_direct_io = lambda dirpath: True
        # Every image-backed disk's backend records its format in <instance dir>/disk.info
        # when the disk object is built (Image.resolve_driver_format, even just for the XML):
        # on this host that wrote /var/lib/nova/instances/<uuid>/disk.info and made later
        # answers depend on earlier requests. Answer what it answers on a fresh compute host
        # (no disk.info yet), without the file.
        from nova.virt.libvirt import imagebackend

        imagebackend.Image.resolve_driver_format = lambda self: self._get_driver_format()

        self.driver = libvirt_driver.LibvirtDriver(fake_virt.FakeVirtAPI(), False)

        from nova import version

        self.versions = {
            "nova": version.version_string(),
            "nova_path": os.path.abspath(nova.__file__),
            "python": sys.version.split()[0],
            "fakelibvirt_libvirt": _version_text(fakelibvirt.FAKE_LIBVIRT_VERSION),
            "fakelibvirt_qemu": _version_text(fakelibvirt.FAKE_QEMU_VERSION),
        }

    # ---- Nova's inputs -------------------------------------------------------------------

    def build(self, case):
        """Instance, image meta, BDMs and network info for a case, as nova-api and
        nova-compute would have them just before driver.spawn(). Raises KeyError/TypeError
        for malformed params (a worker failure, not Nova's answer)."""
        from nova import context as nova_context
        from nova import objects
        from oslo_serialization import jsonutils

        inst = case["instance"]
        root = inst["rootDisk"]
        ephemerals = list(inst.get("ephemerals") or [])
        swap = inst.get("swap")
        volumes = list(inst.get("volumes") or [])
        config_drive = inst.get("configDrive")
        instance_uuid = inst["uuid"]

        # rootDisk.bus is also the image's hw_disk_bus (the model's meaning, scenarios/nova/
        # mapping.ts): for boot from volume it comes from the volume_image_metadata the
        # volume inherited from its image. It is the bus of disks with no bus of their own (a
        # vfat config drive).
        properties = {"hw_machine_type": inst["machineType"], "hw_disk_bus": root["bus"]}
        if inst.get("scsiModel"):
            properties["hw_scsi_model"] = _SCSI_MODELS[inst["scsiModel"]]
        if inst["firmware"] == "ovmf":
            properties["hw_firmware_type"] = "uefi"
        if inst.get("cdromBus"):
            properties["hw_cdrom_bus"] = inst["cdromBus"]
        if inst.get("vifModel"):
            properties["hw_vif_model"] = inst["vifModel"]

        root_gb = _gb(root["sizeMiB"]) if root["source"] == "image" else 0
        ephemeral_gb = sum(_gb(e["sizeMiB"]) for e in ephemerals)
        swap_mb = int(swap["sizeMiB"]) if swap else 0
        memory_mb = int(inst.get("memoryMiB") or 512)

        image = {
            "name": "bootproof-root",
            "status": "active",
            "disk_format": "raw",
            "container_format": "bare",
            "min_disk": 0,
            "min_ram": 0,
            "properties": properties,
        }
        if root["source"] == "image":
            image["id"] = ROOT_IMAGE_ID
        # For boot from volume, nova-compute gets the image meta from the volume's
        # volume_image_metadata (block_device.get_bdm_image_metadata): no image id.

        ctx = nova_context.RequestContext(user_id="bootproof", project_id="bootproof", is_admin=True)
        flavor = make_flavor(root_gb=root_gb, ephemeral_gb=ephemeral_gb, swap_mb=swap_mb, memory_mb=memory_mb)
        instance = make_instance(ctx, instance_uuid, flavor, image, image.get("id", ""), bool(config_drive))
        image_meta = objects.ImageMeta.from_dict(image)

        # The BDMs nova-api creates (compute.api._check_and_transform_bdm and
        # _get_flavor_defined_bdms): no device names; nova-compute names them below.
        def bdm(**fields):
            base = dict(
                instance_uuid=instance_uuid,
                device_name=None,
                delete_on_termination=True,
                no_device=False,
                snapshot_id=None,
                image_id=None,
                volume_id=None,
                volume_size=None,
                volume_type=None,
                connection_info=None,
                tag=None,
                attachment_id=None,
                guest_format=None,
                disk_bus=None,
                device_type="disk",
                encrypted=False,
                encryption_secret_uuid=None,
                encryption_format=None,
                encryption_options=None,
            )
            base.update(fields)
            return objects.BlockDeviceMapping(context=ctx, **base)

        def connection(volume_id):
            info = {
                "driver_volume_type": "local",
                "data": {"device_path": VOLUME_DEVICE_PREFIX + volume_id, "volume_id": volume_id},
                "serial": volume_id,
            }
            return jsonutils.dumps(info)

        bdms = []
        if root["source"] == "image":
            bdms.append(
                bdm(
                    source_type="image",
                    destination_type="local",
                    image_id=ROOT_IMAGE_ID,
                    boot_index=0,
                    volume_size=root_gb,
                    disk_bus=root["bus"],
                )
            )
        else:
            volume_id = root["volumeId"]
            bdms.append(
                bdm(
                    source_type="volume",
                    destination_type="volume",
                    volume_id=volume_id,
                    volume_size=_gb(root["sizeMiB"]),
                    boot_index=0,
                    disk_bus=root["bus"],
                    delete_on_termination=False,
                    connection_info=connection(volume_id),
                )
            )
        for eph in ephemerals:
            bdms.append(
                bdm(
                    source_type="blank",
                    destination_type="local",
                    guest_format="none",
                    boot_index=-1,
                    volume_size=_gb(eph["sizeMiB"]),
                    disk_bus=eph["bus"],
                )
            )
        if swap:
            bdms.append(
                bdm(
                    source_type="blank",
                    destination_type="local",
                    guest_format="swap",
                    boot_index=-1,
                    volume_size=swap_mb,
                    disk_bus=swap["bus"],
                )
            )
        for vol in volumes:
            bdms.append(
                bdm(
                    source_type="volume",
                    destination_type="volume",
                    volume_id=vol["id"],
                    volume_size=_gb(vol["sizeMiB"]),
                    boot_index=None,
                    disk_bus=vol["bus"],
                    delete_on_termination=False,
                    connection_info=connection(vol["id"]),
                )
            )

        network_info = make_network_info(instance_uuid, inst.get("nics") or [])

        rescue_properties = {k: v for k, v in (case.get("rescue") or {}).items() if v is not None}
        rescue_image = {
            "id": RESCUE_IMAGE_ID,
            "name": "bootproof-rescue",
            "status": "active",
            "disk_format": "raw",
            "container_format": "bare",
            "min_disk": 0,
            "min_ram": 0,
            "properties": rescue_properties,
        }
        return types.SimpleNamespace(
            ctx=ctx,
            instance=instance,
            image_meta=image_meta,
            image=image,
            bdms=bdms,
            network_info=network_info,
            rescue_image=rescue_image,
            config_drive_format=(config_drive or {}).get("format", "iso9660"),
        )

    # ---- Nova's chain ----------------------------------------------------------------------

    def name_devices(self, built):
        """nova-compute's ComputeManager._default_block_device_names: the root device name
        from the driver, then every other BDM's name through the driver."""
        from nova import block_device
        from nova.virt import block_device as driver_block_device

        instance, bdms = built.instance, built.bdms
        root_bdm = block_device.get_root_bdm(bdms)
        root_device_name = self.driver.default_root_device_name(instance, built.image_meta, root_bdm)
        instance.root_device_name = root_device_name
        root_bdm.device_name = root_device_name
        ephemerals = [d for d in bdms if block_device.new_format_is_ephemeral(d)]
        swap = [d for d in bdms if block_device.new_format_is_swap(d)]
        volumes = [d for d in bdms if driver_block_device.is_block_device_mapping(d)]
        image = [d for d in bdms if driver_block_device.is_local_image(d)]
        self.driver.default_device_names_for_instance(instance, root_device_name, image, ephemerals, swap, volumes)

    def normal(self, built, name=True, prepare=None):
        """What LibvirtDriver.spawn() computes before it writes the XML. `name` gives the
        devices their names first (the rescue path's stand-in for nova-compute); `prepare`
        replaces the block_device_info (the server-create path: nova-compute's own
        _prep_block_device, which creates and attaches the volumes)."""
        from nova.virt import driver as virt_driver
        from nova.virt.libvirt import blockinfo

        if name:
            self.name_devices(built)
        block_device_info = virt_driver.get_block_device_info(built.instance, built.bdms)
        if prepare is not None:
            block_device_info = prepare(block_device_info)
        disk_info = blockinfo.get_disk_info(
            self.CONF.libvirt.virt_type, built.instance, built.image_meta, block_device_info
        )
        mapping = copy.deepcopy(disk_info["mapping"])
        xml = self.driver._get_guest_xml(
            built.ctx,
            built.instance,
            built.network_info,
            disk_info,
            built.image_meta,
            block_device_info=block_device_info,
            mdevs=[],
            accel_info=None,
        )
        return xml, mapping, block_device_info

    def rescue(self, built):
        """What LibvirtDriver.rescue() computes up to its XML (the compute manager rebuilds
        block_device_info from the saved BDMs first: ComputeManager.rescue_instance)."""
        from nova import objects
        from nova.virt import driver as virt_driver
        from nova.virt import hardware
        from nova.virt.libvirt import blockinfo

        instance = built.instance
        image_meta = objects.ImageMeta.from_dict(built.rescue_image)
        block_device_info = virt_driver.get_block_device_info(instance, built.bdms)
        rescue_images = {
            "image_id": image_meta.id or self.CONF.libvirt.rescue_image_id or instance.image_ref,
            "kernel_id": self.CONF.libvirt.rescue_kernel_id or instance.kernel_id,
            "ramdisk_id": self.CONF.libvirt.rescue_ramdisk_id or instance.ramdisk_id,
        }
        rescue_image_meta = None
        stable = hardware.check_hw_rescue_props(image_meta)
        if stable:
            rescue_image_meta = image_meta
            # rescue() reloads the instance's own image meta (from Glance by image_ref, or
            # from the boot volume's volume_image_metadata): the same dict the spawn used.
            image_meta = objects.ImageMeta.from_dict(built.image)
        else:
            block_device_info = None
        disk_info = blockinfo.get_disk_info(
            self.CONF.libvirt.virt_type,
            instance,
            image_meta,
            rescue=True,
            block_device_info=block_device_info,
            rescue_image_meta=rescue_image_meta,
        )
        mapping = copy.deepcopy(disk_info["mapping"])
        xml = self.driver._get_guest_xml(
            built.ctx,
            instance,
            built.network_info,
            disk_info,
            image_meta,
            rescue=rescue_images,
            mdevs=[],
            block_device_info=block_device_info,
        )
        return xml, mapping, block_device_info, stable

    # ---- the request -----------------------------------------------------------------------

    def domains(self, case):
        built = self.build(case)
        self.CONF.set_override("config_drive_format", built.config_drive_format)
        stage = "normal"
        try:
            normal_xml, normal_mapping, normal_bdi = self.normal(built)
            stage = "rescue"
            rescue_xml, rescue_mapping, rescue_bdi, stable = self.rescue(built)
        except Exception as exc:  # noqa: BLE001 - sorted into Nova's answer or re-raised
            if self.is_novas_answer(exc):
                return {
                    "outcome": "refused",
                    "stage": stage,
                    "error": {"type": qualified_name(type(exc)), "message": str(exc)},
                }
            raise
        return {
            "outcome": "built",
            "stableRescue": stable,
            "normal": {"xml": normal_xml, "diskMapping": normal_mapping},
            "rescue": {"xml": rescue_xml, "diskMapping": rescue_mapping},
            "disks": domain_disks("normal", normal_xml, normal_mapping, normal_bdi)
            + domain_disks("rescue", rescue_xml, rescue_mapping, rescue_bdi),
        }

    def is_novas_answer(self, exc):
        """Nova refusing the input, as opposed to the worker (or Nova's test fixture) failing.

        - any nova.exception.NovaException (TooManyDiskDevices, UnsupportedHardware,
          UnsupportedRescueBus, ...): Nova's own way of rejecting a request;
        - a ValueError or KeyError whose innermost frame of Nova-or-worker code is Nova's own
          (not nova/tests/, not this file): e.g. a mapping lookup Nova's code did itself.
          Raised from this file (malformed params) it is a worker failure.
        Everything else (TypeError, AttributeError, ...) is a bug somewhere: infra-error.
        """
        from nova import exception

        if isinstance(exc, exception.NovaException):
            return True
        if not isinstance(exc, (ValueError, KeyError)):
            return False
        tests_dir = os.path.join(self.nova_dir, "tests") + os.sep
        here = os.path.abspath(__file__)
        owner = None
        for frame in traceback.extract_tb(exc.__traceback__):
            path = os.path.abspath(frame.filename)
            if path == here:
                owner = "worker"
            elif path.startswith(self.nova_dir + os.sep):
                owner = "tests" if path.startswith(tests_dir) else "nova"
        return owner == "nova"


def _gb(mib):
    return int(math.ceil(int(mib) / 1024))


def _version_text(number):
    major, rest = divmod(int(number), 1000000)
    minor, micro = divmod(rest, 1000)
    return "%d.%d.%d" % (major, minor, micro)


def setup():
    nova = _Nova()
    import nova_boot

    return nova.versions, {
        "domains": nova.domains,
        "boot": lambda request: nova_boot.boot(nova, request),
        "snapshot": lambda request: nova_boot.snapshot(nova, request),
    }


if __name__ == "__main__":
    serve("nova", setup)
