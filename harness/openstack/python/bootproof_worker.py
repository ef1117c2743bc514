# bootproof's side of the worker protocol: JSON lines over stdin/stdout, one request at a
# time. The TypeScript side (harness/openstack/worker.ts) validates every message with zod.
#
#   first line out   {"ready": true, "project": P, "versions": {...}}     (after imports)
#                 or {"ready": false, "project": P, "error": {...}}     (imports failed)
#   request in       {"id": N, "method": M, "params": {...}}
#   response out     {"id": N, "ok": true, "result": ...}
#                 or {"id": N, "ok": false, "error": {"type", "message", "traceback"}}
#
# "ok": false means the worker itself failed (an unexpected Python exception): an
# infra-error. An error the driver raises for an input is the driver's answer and each
# method returns it inside its result. Nothing but protocol lines may reach stdout, so the
# real stdout is kept for the protocol and sys.stdout is pointed at stderr before any
# project code is imported (oslo and the drivers print warnings).
import json
import os
import sys
import traceback

_protocol_out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr


def _send(message):
    _protocol_out.write(json.dumps(message, separators=(",", ":"), sort_keys=True) + "\n")
    _protocol_out.flush()


def _error(exc):
    return {
        "type": type(exc).__module__ + "." + type(exc).__qualname__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(exc))[-8000:],
    }


def serve(project, setup):
    """setup() imports the project and returns (versions, {method: handler(params)})."""
    # oslo_log.setup replaces sys.excepthook; keep the default so nothing fails silently.
    hook = sys.excepthook
    try:
        versions, methods = setup()
    except BaseException as exc:  # noqa: BLE001 - any import failure is reported, then exit
        _send({"ready": False, "project": project, "error": _error(exc)})
        os._exit(3)
    sys.excepthook = hook
    methods = dict(methods)
    methods["ping"] = lambda params: {"pid": os.getpid()}
    _send({"ready": True, "project": project, "versions": versions, "pid": os.getpid()})
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            method = methods.get(request.get("method"))
            if method is None:
                raise LookupError("unknown method %r (known: %s)" % (request.get("method"), ", ".join(sorted(methods))))
            result = method(request.get("params") or {})
            _send({"id": request_id, "ok": True, "result": result})
        except BaseException as exc:  # noqa: BLE001 - reported to the TypeScript side
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                break
            _send({"id": request_id, "ok": False, "error": _error(exc)})
    # Interpreter teardown of Nova/Ironic costs 0.6-1.5 s and does nothing useful here.
    _protocol_out.flush()
    os._exit(0)
