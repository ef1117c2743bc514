// NFSv3's own XDR types (RFC 1813 §2.5–2.6): attributes, weak cache consistency data, set
// attributes. Encoders take node's bigint stats of the file as the server sees it.
import type { BigIntStats } from "node:fs";
import { XdrError, type XdrReader, XdrWriter } from "./xdr.js";

export const FHSIZE3 = 64;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;

export enum Ftype3 {
  REG = 1,
  DIR = 2,
  BLK = 3,
  CHR = 4,
  LNK = 5,
  SOCK = 6,
  FIFO = 7,
}

function typeOf(stats: BigIntStats): Ftype3 {
  if (stats.isFile()) return Ftype3.REG;
  if (stats.isDirectory()) return Ftype3.DIR;
  if (stats.isSymbolicLink()) return Ftype3.LNK;
  if (stats.isBlockDevice()) return Ftype3.BLK;
  if (stats.isCharacterDevice()) return Ftype3.CHR;
  if (stats.isSocket()) return Ftype3.SOCK;
  return Ftype3.FIFO;
}

const NS = 1_000_000_000n;
function time(w: XdrWriter, ns: bigint): void {
  w.uint32(Number(ns / NS)).uint32(Number(ns % NS));
}

export function fattr3(w: XdrWriter, stats: BigIntStats, fsid: number): void {
  w.uint32(typeOf(stats))
    .uint32(Number(stats.mode & 0o7777n))
    .uint32(Number(stats.nlink))
    .uint32(Number(stats.uid))
    .uint32(Number(stats.gid))
    .uint64(stats.size)
    .uint64(stats.blocks * 512n)
    .uint32(Number(stats.rdev >> 8n) & 0xfff)
    .uint32(Number(stats.rdev & 0xffn))
    .uint64(fsid)
    .uint64(stats.ino);
  time(w, stats.atimeNs);
  time(w, stats.mtimeNs);
  time(w, stats.ctimeNs);
}

export function postOpAttr(w: XdrWriter, stats: BigIntStats | undefined, fsid: number): void {
  w.bool(stats !== undefined);
  if (stats) fattr3(w, stats, fsid);
}

/** wcc_attr of the object before the operation (its size, mtime and ctime). */
export interface PreOp {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export const preOpOf = (stats: BigIntStats | undefined): PreOp | undefined =>
  stats ? { size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs } : undefined;

export function wccData(w: XdrWriter, before: PreOp | undefined, after: BigIntStats | undefined, fsid: number): void {
  w.bool(before !== undefined);
  if (before) {
    w.uint64(before.size);
    time(w, before.mtimeNs);
    time(w, before.ctimeNs);
  }
  postOpAttr(w, after, fsid);
}

export function postOpFh(w: XdrWriter, handle: Buffer | undefined): void {
  w.bool(handle !== undefined);
  if (handle) w.opaque(handle);
}

export type TimeHow = { how: "dont-change" } | { how: "server" } | { how: "client"; seconds: number; nseconds: number };

export interface Sattr3 {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: bigint;
  atime: TimeHow;
  mtime: TimeHow;
}

function readTime(r: XdrReader, what: string): TimeHow {
  const how = r.uint32(what);
  if (how === 0) return { how: "dont-change" };
  if (how === 1) return { how: "server" };
  if (how === 2) return { how: "client", seconds: r.uint32(`${what} seconds`), nseconds: r.uint32(`${what} nseconds`) };
  throw new XdrError(`${what}: time_how ${how} is not one of 0, 1, 2`);
}

export function readSattr3(r: XdrReader): Sattr3 {
  const mode = r.optional(() => r.uint32("mode"), "set_mode");
  const uid = r.optional(() => r.uint32("uid"), "set_uid");
  const gid = r.optional(() => r.uint32("gid"), "set_gid");
  const size = r.optional(() => r.uint64("size"), "set_size");
  return { mode, uid, gid, size, atime: readTime(r, "set_atime"), mtime: readTime(r, "set_mtime") };
}

export function readHandle(r: XdrReader): Buffer {
  return r.opaque(FHSIZE3, "nfs_fh3");
}

export const newBody = () => new XdrWriter(512);
