# One guest TCP connection → one host TCP connection. QEMU's user network runs this once per
# connection a guest opens to a `guestfwd` address (the `cmd:` form), with that connection on
# stdin/stdout. The `tcp:` chardev form would instead multiplex every guest connection onto a
# single host stream: iPXE's second sanhook then speaks on the first volume's iSCSI session.
#
#   tcp_relay.py HOST PORT
#
# Nothing may be printed: stdout is the guest's connection. Ends when either side closes.
import os
import selectors
import socket
import sys

GUEST_IN, GUEST_OUT = 0, 1
CHUNK = 65536


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    upstream = socket.create_connection((host, port), timeout=10)
    upstream.settimeout(None)
    selector = selectors.DefaultSelector()
    selector.register(GUEST_IN, selectors.EVENT_READ, "guest")
    selector.register(upstream, selectors.EVENT_READ, "host")
    guest_open = True
    while True:
        for key, _ in selector.select():
            if key.data == "guest":
                data = os.read(GUEST_IN, CHUNK)
                if not data:
                    # The guest closed its side: pass the half-close on, wait for the host's.
                    selector.unregister(GUEST_IN)
                    guest_open = False
                    upstream.shutdown(socket.SHUT_WR)
                    continue
                upstream.sendall(data)
            else:
                data = upstream.recv(CHUNK)
                if not data:
                    return
                view = memoryview(data)
                while view:
                    written = os.write(GUEST_OUT, view)
                    view = view[written:]
        if not guest_open and not selector.get_map():
            return


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # noqa: BLE001 - a reset either side just ends the relay
        pass
    os._exit(0)
