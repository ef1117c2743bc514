// nfsstat3 (RFC 1813 §2.6) and the mapping from the file system's errno to it.
export enum Nfs3Status {
  OK = 0,
  PERM = 1,
  NOENT = 2,
  IO = 5,
  NXIO = 6,
  ACCES = 13,
  EXIST = 17,
  XDEV = 18,
  NODEV = 19,
  NOTDIR = 20,
  ISDIR = 21,
  INVAL = 22,
  FBIG = 27,
  NOSPC = 28,
  ROFS = 30,
  MLINK = 31,
  NAMETOOLONG = 63,
  NOTEMPTY = 66,
  DQUOT = 69,
  STALE = 70,
  BADHANDLE = 10001,
  NOT_SYNC = 10002,
  BAD_COOKIE = 10003,
  NOTSUPP = 10004,
  TOOSMALL = 10005,
  SERVERFAULT = 10006,
  BADTYPE = 10007,
  JUKEBOX = 10008,
}

/** An NFS-level refusal: the procedure answers with this status and its failure body. */
export class NfsError extends Error {
  readonly status: Nfs3Status;

  constructor(status: Nfs3Status, message: string = Nfs3Status[status] ?? String(status)) {
    // A status is an answer, not a fault of the server: no stack trace. V8 captures one in
    // every Error's constructor, and for a LOOKUP of a missing name that cost more than the
    // lookup itself.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.status = status;
    this.name = "NfsError";
  }
}

const BY_ERRNO: Record<string, Nfs3Status> = {
  EPERM: Nfs3Status.PERM,
  ENOENT: Nfs3Status.NOENT,
  EIO: Nfs3Status.IO,
  ENXIO: Nfs3Status.NXIO,
  EACCES: Nfs3Status.ACCES,
  EEXIST: Nfs3Status.EXIST,
  EXDEV: Nfs3Status.XDEV,
  ENODEV: Nfs3Status.NODEV,
  ENOTDIR: Nfs3Status.NOTDIR,
  EISDIR: Nfs3Status.ISDIR,
  EINVAL: Nfs3Status.INVAL,
  EFBIG: Nfs3Status.FBIG,
  ENOSPC: Nfs3Status.NOSPC,
  EROFS: Nfs3Status.ROFS,
  EMLINK: Nfs3Status.MLINK,
  ENAMETOOLONG: Nfs3Status.NAMETOOLONG,
  ENOTEMPTY: Nfs3Status.NOTEMPTY,
  EDQUOT: Nfs3Status.DQUOT,
  // O_NOFOLLOW on a symlink: the server never follows one on the client's behalf.
  ELOOP: Nfs3Status.INVAL,
};

/** The status for a file system error (anything unknown is the server's fault). */
export function statusOfError(error: unknown): Nfs3Status {
  if (error instanceof NfsError) return error.status;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code ? BY_ERRNO[code] : undefined) ?? Nfs3Status.SERVERFAULT;
}
