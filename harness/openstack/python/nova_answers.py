# What the Nova worker answers with, shared by its requests: every <disk> of a domain named
# from Nova's own data, and exception names.

_ROLE_OF_NAME = {
    "disk": "root-image",
    "disk.local": "ephemeral",
    "disk.swap": "swap",
    "disk.config": "config-drive",
    "disk.config.rescue": "config-drive",
    "disk.rescue": "rescue",
}


def domain_disks(domain, xml, mapping, block_device_info):
    """Every <disk> of a domain in XML order, named from Nova's own data: the disk_info
    mapping entry with the disk's target dev, and for volumes the BDM mounted there."""
    from lxml import etree
    from nova import block_device

    volumes = {}
    for vol in (block_device_info or {}).get("block_device_mapping") or []:
        volumes[block_device.strip_dev(vol["mount_device"])] = vol
    names = {}
    for name, info in mapping.items():
        if name != "root" and isinstance(info, dict) and "dev" in info:
            names[info["dev"]] = name
    root_dev = (mapping.get("root") or {}).get("dev")
    out = []
    for disk in etree.fromstring(xml).findall("./devices/disk"):
        source = disk.find("source")
        target = disk.find("target")
        serial = disk.find("serial")
        boot = disk.find("boot")
        dev = target.get("dev")
        name = names.get(dev)
        if name is None:
            raise LookupError("Nova's %s XML has a disk %s that its disk mapping does not name" % (domain, dev))
        entry = {
            "domain": domain,
            "mappingName": name,
            "role": "volume" if dev in volumes else _ROLE_OF_NAME.get(name, "ephemeral" if name.startswith("disk.eph") else name),
            "root": dev == root_dev,
            "source": None if source is None else (source.get("file") or source.get("dev") or source.get("name")),
            "dev": dev,
            "bus": target.get("bus"),
            "device": disk.get("device"),
        }
        if dev in volumes:
            entry["volumeId"] = volumes[dev]["connection_info"].get("serial") or volumes[dev].volume_id
        if serial is not None:
            entry["serial"] = serial.text
        if boot is not None:
            entry["bootOrder"] = int(boot.get("order"))
        out.append(entry)
    return out


def qualified_name(cls):
    return cls.__module__ + "." + cls.__qualname__
