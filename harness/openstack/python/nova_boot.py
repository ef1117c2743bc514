# A server create through real Nova, from the API request to the libvirt domain XML:
#
#   API layer   servers.py's BDM handling (BlockDeviceDict.from_api for v2, bool parsing for
#               legacy), the image from Glance (nova.image.glance's own translation of Glance's
#               string properties), or the boot volume's image metadata;
#   compute API _check_and_transform_bdm (the image's own BDMs merged with the request's,
#               legacy conversion, flavor ephemeral/swap), _validate_flavor_image,
#               _bdm_validate_set_size_and_instance (_validate_bdm, volume sizes);
#   compute     ComputeManager._default_block_device_names and _prep_block_device (volumes
#               created from snapshots, images or blank through the volume API, attached);
#   driver      LibvirtDriver: the disk mapping and the domain XML (nova_worker.py's normal()).
#
# Only the services are stand-ins: Glance answers with the request's images as Glance v2
# does (every extra property a string), Cinder with the request's volumes and snapshots,
# and it records every call and every volume it creates (the volume's size and source are
# what the guest must see). Everything else is Nova's own code.
import copy
import types
import uuid

from nova_inputs import make_flavor, make_instance, make_network_info

# Ids of what the stand-in Cinder creates: derived from the instance and a counter, so the
# answer depends on the request only.
VOLUME_NAMESPACE = uuid.UUID("b0070000-c1d0-4000-8000-000000000000")
VOLUME_DEVICE_PREFIX = "/dev/disk/by-id/bootproof-volume-"
_BDM_FIELDS = (
    "source_type",
    "destination_type",
    "boot_index",
    "device_name",
    "volume_id",
    "snapshot_id",
    "image_id",
    "volume_size",
    "volume_type",
    "disk_bus",
    "device_type",
    "guest_format",
    "delete_on_termination",
)


class Refused(Exception):
    """Nova's answer to the request: the stage that refused it and Nova's exception."""

    def __init__(self, stage, error):
        super().__init__(stage)
        self.stage = stage
        self.error = error


class StandInGlance:
    """nova.image.glance.API's surface for this path: get(), answered from the request's
    images through Nova's own translation of a Glance v2 image."""

    def __init__(self, images):
        self.images = copy.deepcopy(images)
        self.created = []

    def create(self, context, image_meta, data=None):
        """What Glance stores for Nova's image: nova.image.glance's own translation to
        Glance v2 (every property a string), with an id and the active status."""
        from nova.image import glance

        sent = glance._translate_to_glance(copy.deepcopy(image_meta))
        image_id = str(uuid.uuid5(VOLUME_NAMESPACE, "image/%d" % len(self.images)))
        stored = dict(sent, id=image_id, status="active", size=image_meta.get("size"))
        self.images[image_id] = stored
        self.created.append(stored)
        return glance._translate_from_glance(_GlanceImage(stored))

    def get(self, context, image_id, include_locations=False, show_deleted=True):
        from nova import exception
        from nova.image import glance

        raw = self.images.get(image_id)
        if raw is None:
            raise exception.ImageNotFound(image_id=image_id)
        return glance._translate_from_glance(_GlanceImage(raw), include_locations=include_locations)


class _GlanceImage(dict):
    """What glanceclient v2 returns: a dict whose extra properties are top-level strings,
    with the image schema (glanceclient's own copy of Glance's base schema)."""

    @property
    def schema(self):
        from glanceclient.v2 import image_schema

        return image_schema._BASE_SCHEMA



class StandInCinder:
    """nova.volume.cinder.API's surface for this path, over the request's volumes and
    snapshots. Volumes it creates are recorded with their size and source."""

    def __init__(self, volumes, snapshots, instance_uuid):
        self.volumes = {vid: {"display_description": "", "multiattach": False, **v, "id": vid} for vid, v in volumes.items()}
        self.snapshots = {sid: {**s, "id": sid} for sid, s in snapshots.items()}
        self.instance_uuid = instance_uuid
        self.calls = []
        self.created = []
        self.attachments = {}

    def _record(self, method, **args):
        self.calls.append({"method": method, "args": {k: v for k, v in args.items() if v is not None}})

    def get(self, context, volume_id, microversion=None):
        from nova import exception

        self._record("get", volume_id=volume_id)
        volume = self.volumes.get(volume_id)
        if volume is None:
            raise exception.VolumeNotFound(volume_id=volume_id)
        return copy.deepcopy(volume)

    def get_snapshot(self, context, snapshot_id):
        from nova import exception

        self._record("get_snapshot", snapshot_id=snapshot_id)
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None:
            raise exception.SnapshotNotFound(snapshot_id=snapshot_id)
        return copy.deepcopy(snapshot)

    def get_all_volume_types(self, context):
        self._record("get_all_volume_types")
        return []

    def check_availability_zone(self, context, volume, instance=None):
        self._record("check_availability_zone", volume_id=volume["id"])

    def create(self, context, size, name, description, snapshot=None, image_id=None, volume_type=None, availability_zone=None, **kwargs):
        from nova import exception

        snapshot_id = snapshot["id"] if snapshot else None
        self._record("create", size=size, snapshot_id=snapshot_id, image_id=image_id, volume_type=volume_type)
        # Cinder's own rule: a volume from a snapshot is at least the snapshot's size.
        if snapshot and size is not None and int(size) < int(snapshot["size"]):
            raise exception.InvalidInput(
                reason="Volume size '%s'GB cannot be smaller than the snapshot size %sGB." % (size, snapshot["size"])
            )
        volume_id = str(uuid.uuid5(VOLUME_NAMESPACE, "%s/%d" % (self.instance_uuid, len(self.created))))
        size = int(size) if size is not None else int(snapshot["size"]) if snapshot else 1
        source_volume = self.volumes.get(snapshot["volume_id"]) if snapshot else None
        volume = {
            "id": volume_id,
            "size": size,
            "status": "available",
            "attach_status": "detached",
            "multiattach": False,
            "bootable": True,
            "availability_zone": availability_zone,
            "volume_type_id": volume_type,
            "volume_image_metadata": copy.deepcopy((source_volume or {}).get("volume_image_metadata") or {}),
            "display_description": "",
        }
        self.volumes[volume_id] = volume
        self.created.append(
            {
                "id": volume_id,
                "size": size,
                "snapshotId": snapshot_id,
                "sourceVolumeId": snapshot.get("volume_id") if snapshot else None,
                "imageId": image_id,
                "name": name,
            }
        )
        return copy.deepcopy(volume)

    def get_absolute_limits(self, context):
        self._record("get_absolute_limits")
        return {"totalSnapshotsUsed": 0, "maxTotalSnapshots": -1}

    def create_snapshot_force(self, context, volume_id, name, description):
        self._record("create_snapshot_force", volume_id=volume_id)
        snapshot_id = str(uuid.uuid5(VOLUME_NAMESPACE, "snapshot/%s/%d" % (volume_id, len(self.snapshots))))
        snapshot = {"id": snapshot_id, "volume_id": volume_id, "size": self.volumes[volume_id]["size"], "status": "available", "name": name}
        self.snapshots[snapshot_id] = snapshot
        return copy.deepcopy(snapshot)

    def attachment_create(self, context, volume_id, instance_id, connector=None, mountpoint=None):
        self._record("attachment_create", volume_id=volume_id)
        attachment_id = str(uuid.uuid5(VOLUME_NAMESPACE, "attachment/%s/%s" % (volume_id, instance_id)))
        self.attachments[attachment_id] = volume_id
        return {"id": attachment_id, "connection_info": None}

    def attachment_update(self, context, attachment_id, connector, mountpoint=None):
        volume_id = self.attachments[attachment_id]
        self._record("attachment_update", volume_id=volume_id, mountpoint=mountpoint)
        return {
            "connection_info": {
                "driver_volume_type": "local",
                "data": {"device_path": VOLUME_DEVICE_PREFIX + volume_id, "volume_id": volume_id},
                "serial": volume_id,
            }
        }

    def attachment_complete(self, context, attachment_id):
        self._record("attachment_complete", volume_id=self.attachments[attachment_id])
        self.volumes[self.attachments[attachment_id]]["status"] = "in-use"


def boot(nova, request):
    """One server create (the request's server, flavor, images, volumes) → what Nova built."""
    return _server_create(nova, request).answer


def _server_create(nova, request):
    """The server create, with what a later request on the same server needs (snapshot)."""
    from nova import block_device, exception
    from nova import context as nova_context
    from nova import objects
    from nova.compute import api as compute_api
    from nova.compute import manager as compute_manager
    from oslo_utils import strutils

    inst = request["instance"]
    server = request["server"]
    instance_uuid = inst["uuid"]
    glance = StandInGlance(request.get("images") or {})
    cinder = StandInCinder(request.get("volumes") or {}, request.get("snapshots") or {}, instance_uuid)
    flavor_in = request["flavor"]
    flavor = make_flavor(
        root_gb=int(flavor_in["rootGb"]),
        ephemeral_gb=int(flavor_in.get("ephemeralGb") or 0),
        swap_mb=int(flavor_in.get("swapMb") or 0),
        memory_mb=int(flavor_in.get("memoryMb") or 512),
    )
    ctx = nova_context.RequestContext(user_id="bootproof", project_id="bootproof", is_admin=True)
    api = compute_api.API.__new__(compute_api.API)
    api.image_api = glance
    api.volume_api = cinder
    stage = "api"
    try:
        # servers.py: the two syntaxes, as the API layer turns them into create() arguments.
        legacy = server.get("blockDeviceMapping") or []
        v2 = server.get("blockDeviceMappingV2") or []
        image_href = server.get("imageRef") or ""
        if legacy and v2:
            raise Refused("api", {"type": "webob.exc.HTTPBadRequest", "message": "Using different block_device_mapping syntaxes is not allowed in the same request."})
        if v2:
            bdms = [block_device.BlockDeviceDict.from_api(dict(b), bool(server.get("imageRef"))) for b in v2]
            legacy_bdm = False
        else:
            # No mapping at all keeps API.create's default legacy_bdm=True, as servers.py
            # does: the legacy conversion then adds the image's own root mapping.
            bdms = [dict(b) for b in legacy]
            for b in bdms:
                if "delete_on_termination" in b:
                    b["delete_on_termination"] = strutils.bool_from_string(b["delete_on_termination"])
            legacy_bdm = True
        if not image_href and not bdms:
            raise Refused("api", {"type": "webob.exc.HTTPBadRequest", "message": "Missing imageRef attribute"})

        # compute.api.API._create_instance, the parts that decide the disks.
        if image_href:
            image_id, boot_meta = api._get_image(ctx, image_href)
        else:
            image_id = None
            boot_meta = block_device.get_bdm_image_metadata(ctx, glance, cinder, bdms, legacy_bdm)
        root_device_name = block_device.prepend_dev(
            block_device.properties_root_device_name(boot_meta.get("properties", {}))
        )
        base_options = {"root_device_name": root_device_name, "image_ref": image_href}
        bdm_list = api._check_and_transform_bdm(ctx, base_options, flavor, boot_meta, 1, 1, bdms, legacy_bdm)
        api._validate_flavor_image(ctx, image_id, boot_meta, flavor, bdm_list.root_bdm(), validate_numa=False)
        instance = make_instance(ctx, instance_uuid, flavor, _image_for_system_metadata(boot_meta), image_href, False)
        instance.root_device_name = root_device_name
        volumes = api._get_volumes_for_bdms(ctx, bdm_list)
        bdm_list = api._bdm_validate_set_size_and_instance(ctx, instance, flavor, bdm_list, {}, volumes)
        _as_stored(bdm_list, instance_uuid)
        requested = [_bdm_dict(b) for b in bdm_list]

        # nova-compute: names, then the volumes the BDMs need, then the driver.
        stage = "compute"
        manager = compute_manager.ComputeManager.__new__(compute_manager.ComputeManager)
        manager.driver = nova.driver
        manager.volume_api = cinder
        image_meta = objects.ImageMeta.from_dict(boot_meta)
        manager._default_block_device_names(instance, image_meta, bdm_list)
        prepared = {}

        def prep(_block_device_info):
            # Nova's own _prep_block_device builds its block_device_info from the BDMs again;
            # the driver then gets that one, with the connection info of the attached volumes.
            prepared["info"] = manager._prep_block_device(ctx, instance, bdm_list)
            return prepared["info"]

        stage = "driver"
        built = types.SimpleNamespace(
            ctx=ctx,
            instance=instance,
            image_meta=image_meta,
            bdms=bdm_list,
            network_info=make_network_info(instance_uuid, inst.get("nics") or []),
        )
        xml, mapping, block_device_info = nova.normal(built, name=False, prepare=prep)
        attach = server.get("attachVolumes") or []
        if attach:
            stage = "attach"
            for volume_id in attach:
                _attach_volume(ctx, api, manager, instance, bdm_list, volume_id)
            # The guest gets the attached volumes in the XML Nova writes at its next hard
            # reboot (LibvirtDriver._hard_reboot: the disk info and XML from all BDMs).
            from nova.virt import driver as virt_driver

            xml, mapping, block_device_info = nova.normal(
                built, name=False, prepare=lambda _info: virt_driver.get_block_device_info(instance, bdm_list)
            )
    except Refused as refused:
        answer = {"outcome": "refused", "stage": refused.stage, "error": refused.error, "cinderCalls": cinder.calls}
        return types.SimpleNamespace(answer=answer)
    except Exception as exc:  # noqa: BLE001 - sorted into Nova's answer or re-raised
        # _prep_block_device turns every failure into InvalidBDM: a stand-in's own bug
        # underneath is the worker failing, not Nova refusing.
        if isinstance(exc, exception.InvalidBDM) and exc.__context__ is not None and not nova.is_novas_answer(exc.__context__):
            raise exc.__context__ from None
        if nova.is_novas_answer(exc):
            from nova_answers import qualified_name

            answer = {
                "outcome": "refused",
                "stage": "compute" if stage == "driver" and "info" not in prepared else stage,
                "error": {"type": qualified_name(type(exc)), "message": str(exc)},
                "cinderCalls": cinder.calls,
            }
            return types.SimpleNamespace(answer=answer)
        raise
    from nova_answers import domain_disks

    answer = {
        "outcome": "built",
        "instance": {"imageRef": instance.image_ref or "", "rootDeviceName": instance.root_device_name},
        "requestedBdms": requested,
        "bdms": [_bdm_dict(b) for b in bdm_list],
        "createdVolumes": cinder.created,
        "cinderCalls": cinder.calls,
        "domain": {"xml": xml, "diskMapping": mapping},
        "disks": domain_disks("normal", xml, mapping, block_device_info),
    }
    return types.SimpleNamespace(
        answer=answer, ctx=ctx, api=api, instance=instance, bdms=bdm_list, glance=glance, cinder=cinder
    )


class _NoEventRecord:
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _StandInComputeRpc:
    """The running instance's compute service, asked to quiesce it: libvirt answers
    QemuGuestAgentNotEnabled for an image without hw_qemu_guest_agent, and Nova snapshots
    without quiescing."""

    def quiesce_instance(self, context, instance):
        from nova import exception

        raise exception.QemuGuestAgentNotEnabled()

    def unquiesce_instance(self, context, instance, mapping=None):
        pass


def snapshot(nova, request):
    """A volume-backed server is created as `request` says, then snapshotted by Nova's own
    API.snapshot_volume_backed: the placeholder image Glance stores and the volume snapshots
    Cinder holds, ready for a later server create."""
    from nova import objects

    created = _server_create(nova, request)
    if created.answer["outcome"] != "built":
        return created.answer
    api, instance, cinder, glance = created.api, created.instance, created.cinder, created.glance
    api.compute_rpcapi = _StandInComputeRpc()
    # The two database writes of this path: the instance action record, and the BDMs read back.
    api._record_action_start = lambda context, instance, action: None
    # What nova-compute records once the guest runs (_update_instance_after_spawn); a fixed
    # time, so the answer depends on the request only.
    import datetime

    instance.vm_state = "active"
    instance.task_state = None
    instance.power_state = 1
    instance.launched_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    stored_bdms = created.bdms
    from nova.compute import utils as compute_utils

    original = objects.BlockDeviceMappingList.get_by_instance_uuid, compute_utils.EventReporter
    objects.BlockDeviceMappingList.get_by_instance_uuid = classmethod(lambda cls, context, uuid, **kw: stored_bdms)
    # wrap_instance_event records the action's events in the database: nothing to record here.
    compute_utils.EventReporter = _NoEventRecord
    try:
        api.snapshot_volume_backed(created.ctx, instance, request.get("snapshotName") or "bootproof-snapshot")
    except Exception as exc:  # noqa: BLE001 - sorted into Nova's answer or re-raised
        if not nova.is_novas_answer(exc):
            raise
        from nova_answers import qualified_name

        return {
            "outcome": "refused",
            "stage": "snapshot",
            "error": {"type": qualified_name(type(exc)), "message": str(exc)},
            "cinderCalls": cinder.calls,
        }
    finally:
        objects.BlockDeviceMappingList.get_by_instance_uuid, compute_utils.EventReporter = original
    return {
        "outcome": "snapshotted",
        "server": created.answer,
        "image": glance.created[-1],
        "snapshots": cinder.snapshots,
        "volumes": cinder.volumes,
        "cinderCalls": cinder.calls,
    }


def _attach_volume(ctx, api, manager, instance, bdm_list, volume_id):
    """POST /servers/{id}/os-volume_attachments without a device, as Heat's
    OS::Cinder::VolumeAttachment does: ComputeManager.reserve_block_device_name names it (the
    libvirt driver's get_device_name_for_instance), the API reserves the volume, and the
    driver BDM attaches it through the volume API (no running guest to hot-plug into)."""
    from nova import objects
    from nova.virt import block_device as driver_block_device

    original = objects.BlockDeviceMappingList.get_by_instance_uuid, objects.BlockDeviceMapping.create
    objects.BlockDeviceMappingList.get_by_instance_uuid = classmethod(lambda cls, context, uuid, **kw: bdm_list)
    objects.BlockDeviceMapping.create = lambda self: None  # the database write
    try:
        volume = api.volume_api.get(ctx, volume_id)
        new_bdm = manager.reserve_block_device_name(ctx, instance, None, volume_id, None, None, None, False)
    finally:
        objects.BlockDeviceMappingList.get_by_instance_uuid, objects.BlockDeviceMapping.create = original
    _as_stored([new_bdm], instance.uuid, first_id=len(bdm_list) + 1)
    api._check_attach_and_reserve_volume(ctx, volume, instance, new_bdm)
    driver_block_device.convert_volume(new_bdm).attach(ctx, instance, api.volume_api, manager.driver, do_driver_attach=False)
    bdm_list.objects.append(new_bdm)


def _as_stored(bdm_list, instance_uuid, first_id=1):
    """The conductor's _create_block_device_mapping stores every BDM (update_or_create) and
    nova-compute reads them back: every field then has its column's value. Without a
    database, give the unset fields what the row would hold (None, or the field default)."""
    for index, bdm in enumerate(bdm_list):
        for name, field in bdm.fields.items():
            if name in ("instance",) or bdm.obj_attr_is_set(name):
                continue
            if name == "id":
                bdm.id = first_id + index
            elif name == "uuid":
                bdm.uuid = str(uuid.uuid5(VOLUME_NAMESPACE, "bdm/%s/%d" % (instance_uuid, first_id + index)))
            elif field.default is not None and not isinstance(field.default, type):
                setattr(bdm, name, field.default)
            elif field.nullable:
                setattr(bdm, name, None)


def _bdm_dict(bdm):
    out = {}
    for field in _BDM_FIELDS:
        value = getattr(bdm, field, None) if bdm.obj_attr_is_set(field) else None
        out[field] = value
    return out


def _image_for_system_metadata(boot_meta):
    """utils.get_system_metadata_from_image wants the image dict nova-api had."""
    image = dict(boot_meta)
    image.setdefault("properties", {})
    return image
