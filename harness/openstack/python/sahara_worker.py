# Real Sahara (Debian's python3-sahara) writes the Heat stack of one cluster with one node
# group: the main template and the node group's nested templates, exactly as its Heat engine
# hands them to Heat (ClusterStack.instantiate), or the exception Sahara raised and where.
#
# Nothing here re-implements Sahara. The cluster and node group are the records Sahara's
# conductor would return (its own defaults applied, wrapped in its own Resource classes); the
# user data is the Heat engine's own script with the SSH remote driver sahara-engine loads.
# No Sahara service, database, Keystone, Glance, Nova, Cinder, Neutron or Heat is contacted:
#
#   sahara.utils.openstack.nova.get_flavor       answers with the request's flavor (Nova)
#   sahara.utils.cluster.etc_hosts_entry_for_service
#                                                 "" = Keystone's catalog has no Heat endpoint
#                                                 to pin in /etc/hosts (what Sahara does on
#                                                 EndpointNotFound)
#   sahara.utils.openstack.heat.client           records stacks.create instead of calling Heat
#   Glance's _sahara_username of the image       the request's imageUsername (ops reads it into
#                                                 the node group before the stack is written)
#   every other client Sahara builds (nova, cinder, glance, images, neutron, keystone, manila,
#   swift, the catalog's url_for, heat's stack   raises StubbedServiceCall: a worker failure
#   reads and waits)                              that names the call, never Sahara's answer
#
# Determinism: the conductor gives a cluster and a node group random uuid4 ids and the cluster
# a fresh SSH key pair (sahara.utils.crypto); here the ids are uuid5s of the names and the key
# is a fixed placeholder, so the same request always gets the same template. Nothing else in
# the template path is random (yaml.safe_dump sorts keys; only the proxy-gateway choice, which
# is not on this path, uses `random`).
#
# Protocol: harness/openstack/python/bootproof_worker.py; TypeScript client:
# harness/openstack/sahara.ts.
import os
import sys
import traceback
import uuid

from bootproof_worker import serve

SAHARA_IDS = uuid.UUID("b0070000-5a4a-4000-8000-000000000000")
# The conductor's per-cluster key pair, as text only: it is echoed into authorized_keys by the
# user data and never used to log in here.
PLACEHOLDER_PUBLIC_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC0b007 bootproof-placeholder-key"
TENANT_ID = "b0070000b0070000b0070000b0070000"
# Sahara's fake plugin (the one its own tests use): the template path never reads the plugin.
PLUGIN = ("fake", "0.1")
THIS_FILE = os.path.abspath(__file__)


class StubbedServiceCall(Exception):
    """Sahara called a service the worker does not answer for: the worker's model is missing
    something, so this is a worker failure, not Sahara's answer."""


class MalformedRequest(ValueError):
    """The request does not describe a node group: a worker failure that names the field."""


# --- the request -------------------------------------------------------------------------------

STRING, OPTIONAL_STRING, COUNT, BOOL, OBJECT = (
    "a string", "a string or null", "a non-negative integer", "a boolean", "an object")
# The request's node group field -> (the conductor's node group key, what the value must be).
# A field left out gets the conductor's default (sahara.conductor.manager.NODE_GROUP_DEFAULTS),
# as a node group created through Sahara's API without it would.
NODE_GROUP_FIELDS = {
    "clusterName": (None, STRING),
    "name": ("name", STRING),
    "flavor": (None, OBJECT),
    "imageId": ("image_id", STRING),
    "imageUsername": ("image_username", STRING),
    "count": ("count", COUNT),
    "availabilityZone": ("availability_zone", OPTIONAL_STRING),
    "bootFromVolume": ("boot_from_volume", BOOL),
    "bootVolumeType": ("boot_volume_type", OPTIONAL_STRING),
    "bootVolumeAvailabilityZone": ("boot_volume_availability_zone", OPTIONAL_STRING),
    "bootVolumeLocalToInstance": ("boot_volume_local_to_instance", BOOL),
    "volumesPerNode": ("volumes_per_node", COUNT),
    "volumesSizeGb": ("volumes_size", COUNT),
    "volumeType": ("volume_type", OPTIONAL_STRING),
    "volumesAvailabilityZone": ("volumes_availability_zone", OPTIONAL_STRING),
    "volumeLocalToInstance": ("volume_local_to_instance", BOOL),
    "volumeMountPrefix": ("volume_mount_prefix", STRING),
}
REQUIRED_FIELDS = ("clusterName", "name", "flavor", "imageId", "count")
FLAVOR_FIELDS = {"id": STRING, "diskGb": COUNT, "ramMb": COUNT, "vcpus": COUNT, "ephemeralGb": COUNT}
# What Glance's _sahara_username image property would hold (sahara.service.ops reads it into
# the node group before the stack is written): the worker has no Glance to ask.
DEFAULT_IMAGE_USERNAME = "ubuntu"
FIX = "fix the request (SaharaNodeGroup in harness/openstack/sahara.ts)"


def _is(value, kind):
    return {
        STRING: isinstance(value, str),
        OPTIONAL_STRING: value is None or isinstance(value, str),
        COUNT: isinstance(value, int) and not isinstance(value, bool) and value >= 0,
        BOOL: isinstance(value, bool),
        OBJECT: isinstance(value, dict),
    }[kind]


def _checked(what, value, kinds, required):
    if not _is(value, OBJECT):
        raise MalformedRequest("%s must be an object, got %r: %s" % (what, value, FIX))
    unknown = sorted(set(value) - set(kinds))
    if unknown:
        raise MalformedRequest("%s has unknown field(s) %s (known: %s): %s" % (what, ", ".join(unknown), ", ".join(kinds), FIX))
    for name in required:
        if name not in value:
            raise MalformedRequest("%s is missing %r, which must be %s: %s" % (what, name, kinds[name], FIX))
    for name, kind in kinds.items():
        if name in value and not _is(value[name], kind):
            raise MalformedRequest("%s.%s must be %s, got %r: %s" % (what, name, kind, value[name], FIX))
    return value


def node_group_request(params):
    """The request's node group, every field checked before Sahara sees it: a malformed request
    fails the worker, it is never mistaken for Sahara's answer."""
    kinds = {name: kind for name, (_, kind) in NODE_GROUP_FIELDS.items()}
    node_group = _checked("the node group", params, kinds, REQUIRED_FIELDS)
    _checked("the node group's flavor", node_group["flavor"], FLAVOR_FIELDS, tuple(FLAVOR_FIELDS))
    return node_group


# --- the service boundary ----------------------------------------------------------------------


class RequestFlavor:
    """What novaclient's flavors.find returns, from the request's flavor."""

    def __init__(self, flavor):
        self.id = flavor["id"]
        self.name = flavor["id"]
        self.disk = flavor["diskGb"]
        self.ram = flavor["ramMb"]
        self.vcpus = flavor["vcpus"]
        self.ephemeral = flavor["ephemeralGb"]


class RecordingHeat:
    """heatclient's Client as ClusterStack.instantiate uses it: stacks.create is recorded."""

    def __init__(self):
        self.created = []
        self.stacks = self

    def create(self, **kwargs):
        self.created.append(kwargs)
        return {"stack": {"id": str(uuid.uuid5(SAHARA_IDS, "stack/" + kwargs["stack_name"]))}}


def _refuse_service(name):
    def call(*args, **kwargs):
        raise StubbedServiceCall(
            "Sahara called %s(%s) while writing the node group's template; the sahara worker "
            "answers no such call: stub it in harness/openstack/python/sahara_worker.py"
            % (name, ", ".join([repr(a) for a in args] + ["%s=%r" % kv for kv in sorted(kwargs.items())]))
        )

    return call


# --- Sahara's answer or a worker failure --------------------------------------------------------


def sahara_refusal(exc, sahara_dir):
    """Sahara's exception as its answer (type, message, Sahara's frame that raised it), or None
    when the exception is not Sahara's: raised by the worker's own code or stubs, or with no
    Sahara frame on the way."""
    if isinstance(exc, (StubbedServiceCall, MalformedRequest)):
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or os.path.abspath(frames[-1].filename) == THIS_FILE:
        return None
    prefix = os.path.dirname(sahara_dir) + os.sep
    sahara_frames = [f for f in frames if os.path.abspath(f.filename).startswith(sahara_dir + os.sep)]
    if not sahara_frames:
        return None
    where = sahara_frames[-1]
    return {
        "type": type(exc).__module__ + "." + type(exc).__qualname__,
        "message": str(exc),
        "where": "%s:%d in %s" % (os.path.abspath(where.filename)[len(prefix):], where.lineno, where.name),
    }


# --- the worker ----------------------------------------------------------------------------------


class Sahara:
    """The one-time setup every request shares."""

    def __init__(self):
        import yaml

        import sahara
        from sahara import config as sahara_config
        from sahara import version as sahara_version

        # No config file, no command line: Sahara's option defaults (wait conditions on, stack
        # tags ['data-processing-cluster'], designate off).
        sahara_config.parse_configs([])
        # Registers heat_stack_tags, which ClusterStack.instantiate reads.
        from sahara.service.heat import heat_engine
        from sahara.service.heat import templates
        from sahara.conductor import manager
        from sahara.conductor import resource
        from sahara.utils import cluster as cluster_utils
        from sahara.utils import remote
        from sahara.utils import ssh_remote
        from sahara.utils.openstack import base, cinder, glance, heat, images, keystone, manila, neutron, nova, swift

        self.yaml = yaml
        self.templates = templates
        self.manager = manager
        self.resource = resource
        self.sahara_dir = os.path.dirname(os.path.abspath(sahara.__file__))
        self.flavor = None
        self.flavor_lookups = []
        self.heat = None

        for module, names in (
            (nova, ("client", "get_instance_info", "get_keypair")),
            (cinder, ("client", "check_cinder_exists", "get_volume")),
            (glance, ("client",)),
            (images, ("image_manager",)),
            (neutron, ("client", "get_private_network_cidrs", "get_network")),
            (keystone, ("auth", "auth_for_admin", "client", "client_for_admin")),
            (manila, ("client",)),
            (swift, ("client", "client_from_token")),
            (base, ("url_for", "retrieve_auth_url")),
            (heat, ("get_stack", "get_stack_outputs", "delete_stack", "wait_stack_completion")),
        ):
            for name in names:
                setattr(module, name, _refuse_service("%s.%s" % (module.__name__, name)))
        nova.get_flavor = self._get_flavor
        heat.client = lambda: self.heat
        cluster_utils.etc_hosts_entry_for_service = lambda service: ""

        # What sahara-engine sets up at start (sahara.main.setup_sahara_engine): the Heat engine
        # and the remote driver its user data asks for (SSH: no extra script).
        self.engine = heat_engine.HeatEngine()
        remote.setup_remote(ssh_remote.SshRemoteDriver(), self.engine)

        self.versions = {
            "sahara": sahara_version.version_info.release_string(),
            "sahara_path": self.sahara_dir,
            "heat_template_version": self.templates.heat_common.HEAT_TEMPLATE_VERSION,
            "heat_engine_version": self.templates.heat_common.HEAT_ENGINE_VERSION,
            "pyyaml": yaml.__version__,
            "python": "%d.%d.%d" % sys.version_info[:3],
        }

    def _get_flavor(self, **kwargs):
        self.flavor_lookups.append(dict(kwargs))
        if self.flavor is None or kwargs != {"id": self.flavor.id}:
            raise StubbedServiceCall(
                "Sahara asked Nova for the flavor %r; the request's flavor is %r"
                % (kwargs, self.flavor.id if self.flavor else None)
            )
        return self.flavor

    def _cluster(self, ng):
        """The cluster the conductor would return: its records with Sahara's own defaults."""
        cluster_id = str(uuid.uuid5(SAHARA_IDS, "cluster/" + ng["clusterName"]))
        given = {key: ng[name] for name, (key, _) in NODE_GROUP_FIELDS.items() if key and name in ng}
        given.setdefault("image_username", DEFAULT_IMAGE_USERNAME)
        node_group = self.manager._apply_defaults(
            dict(
                given,
                id=str(uuid.uuid5(SAHARA_IDS, "node-group/%s/%s" % (ng["clusterName"], ng["name"]))),
                tenant_id=TENANT_ID,
                cluster_id=cluster_id,
                flavor_id=ng["flavor"]["id"],
                open_ports=[],
                instances=[],
                use_autoconfig=True,
                node_group_template_id=None,
                shares=None,
            ),
            self.manager.NODE_GROUP_DEFAULTS,
        )
        cluster = self.manager._apply_defaults(
            {
                "id": cluster_id,
                "name": ng["clusterName"],
                "tenant_id": TENANT_ID,
                "plugin_name": PLUGIN[0],
                "hadoop_version": PLUGIN[1],
                "default_image_id": None,
                "neutron_management_network": str(uuid.uuid5(SAHARA_IDS, "management-network")),
                "management_public_key": PLACEHOLDER_PUBLIC_KEY,
                "user_keypair_id": None,
                "domain_name": None,
                "extra": None,
                "use_autoconfig": True,
                "cluster_template_id": None,
                "node_groups": [node_group],
            },
            self.manager.CLUSTER_DEFAULTS,
        )
        return self.resource.ClusterResource(cluster)

    def template(self, params):
        ng = node_group_request(params)
        self.flavor = RequestFlavor(ng["flavor"])
        self.flavor_lookups = []
        self.heat = RecordingHeat()
        try:
            cluster = self._cluster(ng)
            stack = self.templates.ClusterStack(cluster)
            node_group = cluster.node_groups[0]
            stack.add_node_group_extra(node_group.id, ng["count"], self.engine._generate_user_data_script)
            # What HeatEngine._create_instances does: the stack as Sahara creates it in Heat.
            stack.instantiate(update_existing=False)
        except Exception as exc:  # noqa: BLE001 - Sahara's own exception is its answer
            refusal = sahara_refusal(exc, self.sahara_dir)
            if refusal is None:
                raise
            return {"outcome": "refused", "error": refusal, "flavorLookups": self.flavor_lookups}
        if len(self.heat.created) != 1:
            raise RuntimeError("Sahara created %d Heat stacks for one cluster, expected 1" % len(self.heat.created))
        created = self.heat.created[0]
        return {
            "outcome": "template",
            "mainTemplateText": created["template"],
            "mainTemplate": self._parsed(created["template"]),
            "files": {name: {"text": text, "parsed": self._parsed(text)} for name, text in sorted(created["files"].items())},
            "stack": {
                "name": created["stack_name"],
                "timeoutMins": created["timeout_mins"],
                "disableRollback": created["disable_rollback"],
                "parameters": created["parameters"],
                "tags": created.get("tags"),
            },
            "flavorLookups": self.flavor_lookups,
            "ids": {"cluster": cluster.id, "nodeGroup": node_group.id},
        }

    def _parsed(self, text):
        # safe_load is enough: Sahara writes with safe_dump, which quotes every string YAML
        # could read as another type (dates, booleans), the cases Heat's own loader differs on.
        return self.yaml.safe_load(text)


def setup():
    sahara = Sahara()
    return sahara.versions, {"template": sahara.template}


if __name__ == "__main__":
    serve("sahara", setup)
