# libvirt without a daemon: the embedded QEMU driver (qemu:///embed?root=DIR) assigns device
# addresses and writes QEMU's command line exactly as libvirtd would. This worker runs as an
# unprivileged user (the TypeScript side starts it with setpriv): a privileged embedded
# driver insists on the libvirt-qemu system user, which only libvirt-daemon-system creates.
#
# Methods (JSON lines, see bootproof_worker.py):
#   define  {xml}            -> {"outcome": "defined", "name", "xml": dumpxml with addresses}
#                             | {"outcome": "refused", "error": {type, code, message}}
#   native  {xml}            -> {"outcome": "native", "argv": [...], "env": {...}} | refused
#   undefine {name}          -> {}
# "refused" is libvirt's own answer to the XML (what a real libvirtd would say to Nova); any
# other exception is a worker failure.
import os
import shlex
import sys
import threading

from bootproof_worker import serve


def setup():
    import libvirt

    root = os.environ["BOOTPROOF_LIBVIRT_ROOT"]
    libvirt.virEventRegisterDefaultImpl()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, name="libvirt-events", daemon=True).start()
    # Errors are returned to the caller; libvirt's default handler would print them to stderr.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    conn = libvirt.open("qemu:///embed?root=" + root)

    def refused(exc):
        return {
            "outcome": "refused",
            "error": {"type": "libvirt.libvirtError", "code": exc.get_error_code(), "message": exc.get_error_message() or str(exc)},
        }

    def define(params):
        try:
            dom = conn.defineXML(params["xml"])
        except libvirt.libvirtError as exc:
            return refused(exc)
        return {"outcome": "defined", "name": dom.name(), "xml": dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)}

    def native(params):
        try:
            text = conn.domainXMLToNative("qemu-argv", params["xml"])
        except libvirt.libvirtError as exc:
            return refused(exc)
        words = shlex.split(text)
        env = {}
        while words and "=" in words[0] and not words[0].startswith("-") and "/" not in words[0].split("=", 1)[0]:
            key, value = words.pop(0).split("=", 1)
            env[key] = value
        return {"outcome": "native", "argv": words, "env": env}

    def undefine(params):
        try:
            conn.lookupByName(params["name"]).undefine()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise
        return {}

    version = conn.getLibVersion()
    qemu = conn.getVersion()
    versions = {
        "libvirt": "%d.%d.%d" % (version // 1000000, version // 1000 % 1000, version % 1000),
        "qemu": "%d.%d.%d" % (qemu // 1000000, qemu // 1000 % 1000, qemu % 1000),
        "python": sys.version.split()[0],
    }
    return versions, {"define": define, "native": native, "undefine": undefine}


serve("libvirt", setup)
