# Real Ironic (Debian's python3-ironic) decides one bootproof node's boot from volume: what
# `baremetal node validate` shows, what a deploy checks and does (storage validate,
# should_write_image, attach_volumes with the Cinder calls it makes), the power actions' volume
# detach/attach, and the files the iPXE boot interface writes for the node (boot.ipxe, the
# node's config and its MAC link), or the exact error Ironic raised and where.
#
# Nothing here re-implements Ironic. The conductor's own code runs against an in-memory
# sqlite database (the schema of ironic.db.sqlalchemy.models, as Ironic's unit tests set it
# up); no API, conductor service, message queue or Keystone runs. The only stub is the Cinder
# client Ironic's ironic.common.cinder builds (`_init_client`): it records every call and
# answers initialize_connection with the connection data the case says Cinder returns.
#
# Protocol: harness/openstack/python/bootproof_worker.py; TypeScript client:
# harness/openstack/ironic.ts.
import hashlib
import os
import shutil
import tempfile
import traceback
import uuid

from bootproof_worker import serve

# An instance_info value the worker replaces with a file:// image of its own.
IMAGE_PLACEHOLDER = "bootproof:instance-image"
IRONIC_VOLUME_NS = uuid.UUID("b0070000-1201-4000-8000-000000000000")


class _FakeCinderVolume:
    def __init__(self, volume_id, attachments):
        self.id = volume_id
        self.attachments = attachments
        self.status = "in-use" if attachments else "available"


class _FakeCinderVolumes:
    """cinderclient's `volumes` manager, as ironic.common.cinder uses it."""

    def __init__(self, connections, calls, missing, exceptions):
        # Cinder's state across one request: a volume attached stays attached until detached,
        # which is what is_volume_attached reads on the next power on.
        self.attachments = {}
        # Per volume id: Cinder's driver_volume_type ("iscsi", "fibre_channel"), as the case says.
        self.volume_types = {}
        self._connections = connections
        self._calls = calls
        self._missing = missing
        self._exceptions = exceptions

    def _record(self, method, volume_id, **extra):
        self._calls.append(dict({"method": method, "volume_id": volume_id}, **extra))

    def get(self, volume_id):
        self._record("get", volume_id)
        if volume_id in self._missing:
            raise self._exceptions.NotFound(404, "Volume %s could not be found." % volume_id)
        return _FakeCinderVolume(volume_id, list(self.attachments.get(volume_id, [])))

    def reserve(self, volume_id):
        self._record("reserve", volume_id)

    def initialize_connection(self, volume_id, connector):
        self._record("initialize_connection", volume_id, connector=connector)
        data = dict(self._connections.get(volume_id, {}))
        return {"driver_volume_type": self.volume_types.get(volume_id, "iscsi"), "data": data}

    def attach(self, volume_id, instance_uuid, mountpoint, *args, **kwargs):
        self._record("attach", volume_id, instance_uuid=instance_uuid, mountpoint=mountpoint)
        self.attachments.setdefault(volume_id, []).append(
            {"server_id": instance_uuid, "attachment_id": str(uuid.uuid5(IRONIC_VOLUME_NS, volume_id + instance_uuid))}
        )

    def set_metadata(self, volume_id, metadata):
        self._record("set_metadata", volume_id, metadata=metadata)

    def begin_detaching(self, volume_id):
        self._record("begin_detaching", volume_id)

    def terminate_connection(self, volume_id, connector):
        self._record("terminate_connection", volume_id, connector=connector)

    def detach(self, volume_id, *args, **kwargs):
        self._record("detach", volume_id)
        self.attachments.pop(volume_id, None)

    def roll_detaching(self, volume_id):
        self._record("roll_detaching", volume_id)

    def unreserve(self, volume_id):
        self._record("unreserve", volume_id)


class _FakeCinderClient:
    def __init__(self, volumes):
        self.volumes = volumes


def _error(exc):
    """Ironic's exception as its answer: the type, the message, and where Ironic raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    ironic_frames = [f for f in frames if "/ironic/" in f.filename] or frames
    where = ironic_frames[-1] if ironic_frames else None
    return {
        "type": type(exc).__module__ + "." + type(exc).__qualname__,
        "message": str(exc),
        "where": "%s:%d in %s" % (where.filename.split("/ironic/", 1)[-1], where.lineno, where.name) if where else "",
    }


class _Ironic:
    """The one-time setup every request shares."""

    def __init__(self):
        from oslo_config import cfg
        from oslo_log import log as oslo_log

        import ironic
        from ironic.common import config as ironic_config
        from ironic.conf import opts as ironic_opts

        self.CONF = cfg.CONF
        oslo_log.register_options(self.CONF)
        ironic_opts.update_opt_defaults()
        ironic_config.parse_args([], default_config_files=[])
        from ironic import objects

        objects.register_all()
        # The TypeScript side owns (and removes) the scratch dir: a worker is stopped with SIGKILL.
        scratch = os.environ.get("BOOTPROOF_WORKER_SCRATCH")
        self.root = tempfile.mkdtemp(prefix="ironic-", dir=scratch) if scratch else tempfile.mkdtemp(prefix="bootproof-ironic-")
        self.http_root = os.path.join(self.root, "httpboot")
        self.tftp_root = os.path.join(self.root, "tftpboot")
        os.makedirs(self.http_root)
        os.makedirs(self.tftp_root)
        files = os.path.join(self.root, "images")
        os.makedirs(files)
        self.deploy_kernel = os.path.join(files, "deploy.kernel")
        self.deploy_ramdisk = os.path.join(files, "deploy.initramfs")
        self.instance_image = os.path.join(files, "instance.img")
        for path in (self.deploy_kernel, self.deploy_ramdisk, self.instance_image):
            with open(path, "wb") as f:
                f.write(b"bootproof placeholder: the deploy ramdisk never boots in a boot from volume\n")

        # The conductor's web server behind http_url: Ironic HEADs the images it caches there
        # before it lets the agent write them. Loopback only; the guest never uses it (boot.ipxe
        # chains relative paths, and bootproof serves http_root to the guest itself).
        self.web = _serve_directory(self.http_root)
        http_url = "http://127.0.0.1:%d" % self.web.server_address[1]
        overrides = {
            None: {
                "host": "bootproof-conductor",
                "auth_strategy": "noauth",
                "enabled_hardware_types": ["manual-management"],
                "enabled_boot_interfaces": ["ipxe", "pxe"],
                "enabled_deploy_interfaces": ["direct", "ramdisk"],
                "enabled_storage_interfaces": ["cinder", "external", "noop"],
                "enabled_power_interfaces": ["fake"],
                "enabled_management_interfaces": ["fake", "noop"],
                "enabled_network_interfaces": ["noop"],
                "enabled_console_interfaces": ["no-console"],
                "enabled_inspect_interfaces": ["no-inspect"],
                "enabled_raid_interfaces": ["no-raid"],
                "enabled_rescue_interfaces": ["no-rescue"],
                "enabled_vendor_interfaces": ["no-vendor"],
                "enabled_bios_interfaces": ["no-bios"],
                "default_boot_interface": "ipxe",
                "default_storage_interface": "noop",
                "default_power_interface": "fake",
                "default_management_interface": "fake",
            },
            "database": {"connection": "sqlite://"},
            "deploy": {"http_url": http_url, "http_root": self.http_root},
            "pxe": {"tftp_root": self.tftp_root, "tftp_master_path": os.path.join(self.root, "tftp-master"), "images_path": os.path.join(self.root, "images-cache"),
                    "instance_master_path": os.path.join(self.root, "master-images")},
            "dhcp": {"dhcp_provider": "none"},
            # An image Ironic writes is handed to the agent as the file it is (no conductor-side
            # HTTP cache that would need a web server behind http_url).
            "agent": {"image_download_source": "local"},
            "cinder": {"action_retries": 0, "action_retry_interval": 0},
            # Ironic only reads file:// images under these (a security check it has since Zed).
            "conductor": {
                "automated_clean": False,
                "file_url_allowed_paths": [files],
            },
            # Where an agent would call Ironic's API back (none runs): no Keystone to ask.
            "service_catalog": {"endpoint_override": "http://127.0.0.1:6385"},
        }
        for group, values in overrides.items():
            for name, value in values.items():
                self.CONF.set_override(name, value, group=group)

        from ironic.db.sqlalchemy import api as sqla_api
        from ironic.db.sqlalchemy import models

        engine = sqla_api.get_engine() if hasattr(sqla_api, "get_engine") else sqla_api.enginefacade.writer.get_engine()
        models.Base.metadata.create_all(engine)

        from cinderclient import exceptions as cinder_exceptions

        from ironic.common import cinder as ironic_cinder
        from ironic.common import context as ironic_context
        from ironic.common import driver_factory, exception, pxe_utils, states
        from ironic.conductor import manager as conductor_manager
        from ironic.conductor import task_manager
        from ironic.conductor import utils as conductor_utils
        from ironic.drivers.modules import deploy_utils

        self.cinder_exceptions = cinder_exceptions
        self.ironic_cinder = ironic_cinder
        self.exception = exception
        self.objects = objects
        self.states = states
        self.pxe_utils = pxe_utils
        self.task_manager = task_manager
        self.conductor_utils = conductor_utils
        self.deploy_utils = deploy_utils
        self.context = ironic_context.get_admin_context()
        self.manager = conductor_manager.ConductorManager("bootproof-conductor", "bootproof-topic")
        # What the conductor's start() does for the interfaces: load the enabled ones once.
        driver_factory.default_interface  # noqa: B018 - imported for its side effect on first use
        self.calls = []
        self.connections = {}
        self.missing = set()
        volumes = _FakeCinderVolumes(self.connections, self.calls, self.missing, cinder_exceptions)
        self.volumes = volumes
        ironic_cinder._init_client = lambda task, **kwargs: _FakeCinderClient(volumes)
        # Every boot device the conductor sets (the boot interfaces call it through this module
        # attribute), recorded and then set for real on the node's management interface.
        self.boot_devices = []
        set_boot_device = conductor_utils.node_set_boot_device

        def recording_set_boot_device(task, device, persistent=False):
            self.boot_devices.append({"device": device, "persistent": bool(persistent)})
            return set_boot_device(task, device, persistent=persistent)

        conductor_utils.node_set_boot_device = recording_set_boot_device
        self.versions = {
            "ironic": _ironic_version(),
            "ironic_path": os.path.dirname(os.path.abspath(ironic.__file__)),
            "python": "%d.%d.%d" % __import__("sys").version_info[:3],
        }

    # --- one request -------------------------------------------------------------------------

    def decide(self, params):
        node_spec = params["node"]
        self.calls.clear()
        self.volumes.attachments.clear()
        self.volumes.volume_types.clear()
        self.boot_devices.clear()
        self.connections.clear()
        self.missing.clear()
        for target in params.get("targets", []):
            self.volumes.volume_types[target["volume_id"]] = target["volume_type"]
            if "cinder_connection" in target:
                self.connections[target["volume_id"]] = target["cinder_connection"]
        self.missing.update(params.get("cinder_missing_volumes", []))
        node_uuid = node_spec["uuid"]
        result = {"stages": []}
        try:
            node = self._create(params, result)
            if node is not None:
                self._run(node, params, result)
        finally:
            self._destroy(node_uuid)
        result["cinder_calls"] = [dict(c) for c in self.calls]
        result["boot_devices"] = [dict(d) for d in self.boot_devices]
        return result

    def _create(self, params, result):
        """The API's part: the node, its port, connectors and targets as database records."""
        objects = self.objects
        node_spec = params["node"]
        try:
            properties = {"cpu_arch": "x86_64", "local_gb": "10", "memory_mb": "2048", "cpus": "1"}
            capabilities = node_spec.get("capabilities") or {}
            caps = ",".join("%s:%s" % (k, v) for k, v in capabilities.items())
            if node_spec.get("boot_mode"):
                caps = ",".join(c for c in (caps, "boot_mode:%s" % node_spec["boot_mode"]) if c)
            if caps:
                properties["capabilities"] = caps
            if node_spec.get("root_device") is not None:
                properties["root_device"] = node_spec["root_device"]
            node = objects.Node(
                self.context,
                uuid=node_spec["uuid"],
                name=node_spec.get("name"),
                driver="manual-management",
                boot_interface=node_spec.get("boot_interface", "ipxe"),
                deploy_interface=node_spec.get("deploy_interface", "direct"),
                storage_interface=node_spec.get("storage_interface", "noop"),
                power_interface="fake",
                # manual-management's own default is noop (the operator sets the boot device;
                # it accepts pxe and disk); fake accepts only pxe.
                management_interface=node_spec.get("management_interface", "fake"),
                network_interface="noop",
                properties=properties,
                driver_info={"deploy_kernel": "file://" + self.deploy_kernel, "deploy_ramdisk": "file://" + self.deploy_ramdisk},
                instance_info=self._instance_info(node_spec.get("instance_info") or {}),
                provision_state=self.states.DEPLOYING,
                target_provision_state=self.states.ACTIVE,
                power_state=self.states.POWER_OFF,
            )
            node.create()
            def record(cls, name, **fields):
                """One of the node's records, with a uuid derived from the node's: the same case
                always gets the same records."""
                cls(self.context, uuid=str(uuid.uuid5(IRONIC_VOLUME_NS, "%s/%s" % (node.uuid, name))), node_id=node.id, **fields).create()

            record(objects.Port, "port", address=params["mac"], pxe_enabled=True)
            for i, connector in enumerate(params.get("connectors", [])):
                record(objects.VolumeConnector, "connector/%d" % i, type=connector["type"], connector_id=connector["connector_id"])
            for i, target in enumerate(params.get("targets", [])):
                record(
                    objects.VolumeTarget,
                    "target/%d" % i,
                    volume_type=target["volume_type"],
                    volume_id=target["volume_id"],
                    boot_index=target["boot_index"],
                    properties=dict(target.get("properties") or {}),
                )
        except Exception as exc:  # noqa: BLE001 - Ironic's refusal of a record is its answer
            result["refusal"] = {"stage": "records", "error": _error(exc)}
            return None
        return node

    def _instance_info(self, info):
        """instance_info as given; IMAGE_PLACEHOLDER becomes a file:// image that exists (Ironic
        checks an image href during validation)."""
        info = dict(info)
        for key, value in list(info.items()):
            if value == IMAGE_PLACEHOLDER:
                info[key] = "file://" + self.instance_image
                # What an operator gives with a non-Glance image: its checksum.
                with open(self.instance_image, "rb") as f:
                    info.setdefault("image_checksum", hashlib.md5(f.read()).hexdigest())  # noqa: S324 - Ironic's format
        return info

    def _stage(self, result, name, fn):
        """Run one of Ironic's steps; its exception is Ironic's answer for the stage."""
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001
            result["stages"].append({"stage": name, "ok": False, "error": _error(exc)})
            result["refusal"] = {"stage": name, "error": _error(exc)}
            return False, None
        result["stages"].append({"stage": name, "ok": True})
        return True, value

    def _run(self, node, params, result):
        states = self.states
        result["validation"] = self.manager.validate_driver_interfaces(self.context, node.uuid)
        with self.task_manager.acquire(self.context, node.uuid, purpose="bootproof deploy") as task:
            storage = task.driver.storage
            ok, _ = self._stage(result, "storage.validate", lambda: storage.validate(task))
            result["should_write_image"] = _safe(lambda: storage.should_write_image(task))
            if not ok:
                return
            ok, _ = self._stage(result, "power.validate", lambda: task.driver.power.validate(task))
            if not ok:
                return
            ok, _ = self._stage(result, "boot.validate", lambda: task.driver.boot.validate(task))
            if not ok:
                return
            ok, _ = self._stage(result, "deploy.validate", lambda: task.driver.deploy.validate(task))
            if not ok:
                return
            ok, _ = self._stage(result, "deploy.prepare", lambda: task.driver.deploy.prepare(task))
            result["boot_option"] = _safe(lambda: self.deploy_utils.get_boot_option(task.node))
            # The root device hints as Ironic validated and parsed them (ironic-lib's parser).
            result["root_device_hints"] = _safe(lambda: _jsonable(self.deploy_utils.get_root_device_for_deploy(task.node)))
            result["driver_internal_info"] = _jsonable(dict(task.node.driver_internal_info))
            result["attached_properties"] = [
                {"volume_id": t.volume_id, "boot_index": t.boot_index, "properties": _jsonable(dict(t.properties))}
                for t in self.objects.VolumeTarget.list_by_node_id(self.context, task.node.id)
            ]
            if not ok:
                return
            # The deploy steps, in the conductor's order (highest priority first, priority 0
            # steps are not run), dispatched through the interface's own execute_deploy_step.
            steps = sorted(
                (s for s in task.driver.deploy.get_deploy_steps(task) if s["priority"] > 0),
                key=lambda s: -s["priority"],
            )
            result["deploy_steps"] = [s["step"] for s in steps]
            for step in steps:
                ok, returned = self._stage(
                    result,
                    "deploy step %s" % step["step"],
                    lambda s=step: task.driver.deploy.execute_deploy_step(task, s),
                )
                if not ok:
                    return
                if returned == states.DEPLOYWAIT:
                    # The conductor now waits for the deploy agent to boot and write the
                    # image: no boot from volume happens on this path.
                    result["deploy_wait"] = step["step"]
                    result["files"] = self._files()
                    return
            ok, _ = self._stage(result, "create_ipxe_boot_script", self.pxe_utils.create_ipxe_boot_script)
            result["files"] = self._files()
            result["dhcp_options"] = _safe(
                lambda: _jsonable(self.pxe_utils.dhcp_options_for_instance(task, ipxe_enabled=True, ip_version=4))
            )
            result["power_state"] = task.node.power_state
            # ACTIVE, then the power actions a user makes: off detaches the volumes, on attaches.
            task.node.provision_state = states.ACTIVE
            task.node.target_provision_state = states.NOSTATE
            task.node.save()
            for name, state in (("power off", states.POWER_OFF), ("power on", states.POWER_ON)):
                self.calls.append({"method": "-- %s --" % name, "volume_id": ""})
                self._stage(result, name, lambda s=state: self.conductor_utils.node_power_action(task, s))

    def _files(self):
        """Everything under http_root, as Ironic laid it out: files and the links it made."""
        files = []
        for directory, dirnames, filenames in os.walk(self.http_root):
            dirnames.sort()
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(directory, d))]):
                path = os.path.join(directory, name)
                rel = os.path.relpath(path, self.http_root)
                if os.path.islink(path):
                    files.append({"path": rel, "link": os.readlink(path)})
                else:
                    with open(path, "r", encoding="utf-8", errors="replace") as f:
                        files.append({"path": rel, "content": f.read()})
        return files

    def _destroy(self, node_uuid):
        """Connector ids are unique and an existing config file is not re-rendered: a clean
        slate for the next request."""
        try:
            node = self.objects.Node.get_by_uuid(self.context, node_uuid)
        except Exception:  # noqa: BLE001 - the node was never created
            node = None
        if node is not None:
            for cls in (self.objects.VolumeTarget, self.objects.VolumeConnector, self.objects.Port):
                for record in cls.list_by_node_id(self.context, node.id):
                    record.destroy()
            node.destroy()
        for entry in os.listdir(self.http_root):
            path = os.path.join(self.http_root, entry)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)


def _serve_directory(root):
    import functools
    import http.server
    import threading

    class _QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # stdout/stderr belong to the protocol and its log
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=root))
    threading.Thread(target=server.serve_forever, name="ironic-http-url", daemon=True).start()
    return server


def _safe(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        return {"error": _error(exc)}


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))


def _ironic_version():
    try:
        from ironic import version

        return version.version_info.release_string()
    except Exception:  # noqa: BLE001
        return "unknown"


# ironic-python-agent's guess_root_disk: with no hints, the smallest disk of at least 4 GiB.
AGENT_MIN_DISK_BYTES = 4 * 1024**3


def agent_root_device(params):
    """The disk Ironic's deploy agent writes the image to, chosen as ironic-python-agent does
    (IPA is not packaged in Debian): the node's hints, instance_info's before properties', matched
    with ironic-lib's own match_root_device_hints over the disks the deploy ramdisk saw; with no
    hints, the smallest disk of at least 4 GiB (devices in the ramdisk's order break ties)."""
    from ironic_lib import utils as il_utils

    devices = params["devices"]
    hints = params.get("instance_info_root_device") or params.get("properties_root_device")
    if hints:
        try:
            device = il_utils.match_root_device_hints(devices, hints)
        except ValueError as exc:
            return {"rule": "hints", "hints": hints, "device": None, "error": _error(exc)}
        return {"rule": "hints", "hints": hints, "device": device["name"] if device else None}
    candidates = sorted((d for d in devices if d["size"] >= AGENT_MIN_DISK_BYTES), key=lambda d: d["size"])
    return {"rule": "smallest-disk-of-at-least-4-GiB", "device": candidates[0]["name"] if candidates else None}


def setup():
    ironic = _Ironic()
    return ironic.versions, {"decide": ironic.decide, "agent_root_device": agent_root_device}


if __name__ == "__main__":
    serve("ironic", setup)
