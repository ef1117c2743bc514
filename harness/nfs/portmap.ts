// The port mapper (RFC 1833): version 2 GETPORT / DUMP and rpcbind versions 3 and 4 GETADDR,
// answering for the programs this server carries (all on its one port). SET and UNSET are
// refused: nobody registers with a test server.
import { AcceptStat, type RpcCall, type RpcOutcome } from "./rpc.js";
import { XdrWriter } from "./xdr.js";

export const PORTMAP_PROGRAM = 100000;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

export interface Registration {
  program: number;
  version: number;
}

export function portmapHandler(version: 2 | 3 | 4, registrations: () => Registration[], host: () => string, port: () => number) {
  const universal = () => `${host()}.${port() >> 8}.${port() & 0xff}`;
  return (call: RpcCall): RpcOutcome => {
    const body = new XdrWriter();
    switch (call.procedure) {
      case 0:
        break;
      case 1:
      case 2:
        call.args.uint32("prog");
        body.bool(false);
        break;
      case 3:
        if (version === 2) {
          const program = call.args.uint32("prog");
          const vers = call.args.uint32("vers");
          const protocol = call.args.uint32("prot");
          call.args.uint32("port");
          const known = registrations().some((r) => r.program === program && r.version === vers);
          body.uint32(known && (protocol === IPPROTO_TCP || protocol === IPPROTO_UDP) ? port() : 0);
        } else {
          const program = call.args.uint32("r_prog");
          const vers = call.args.uint32("r_vers");
          const netid = call.args.string(64, "r_netid");
          call.args.string(256, "r_addr");
          call.args.string(256, "r_owner");
          const known = registrations().some((r) => r.program === program && r.version === vers);
          body.string(known && (netid === "tcp" || netid === "udp" || netid === "") ? universal() : "");
        }
        break;
      case 4:
        for (const r of registrations())
          for (const [protocol, netid] of [
            [IPPROTO_TCP, "tcp"],
            [IPPROTO_UDP, "udp"],
          ] as const) {
            body.bool(true).uint32(r.program).uint32(r.version);
            if (version === 2) body.uint32(protocol).uint32(port());
            else body.string(netid).string(universal()).string("bootproof");
          }
        body.bool(false);
        break;
      default:
        return { kind: "error", stat: AcceptStat.PROC_UNAVAIL };
    }
    return { kind: "success", body };
  };
}
