#!/bin/sh
# bootproof's POSIX operations suite over NFS, run in the guest by the probe (bootproof.nfs_suite=1)
# through the guest kernel's own NFS client, on a fresh directory of the mounted export:
#   nfs-suite.sh MOUNTPOINT
# prints one JSON array, [{"op":"…","ok":true|false,"detail":"…"},…], and nothing else.
# Every check reads back after dropping the guest's page, dentry and inode caches, so what it
# sees is what the server stored, not what the client remembers writing.
# busybox ash; each operation is a function that returns non-zero with DETAIL set on failure.

BASE=$1/bootproof-suite
RESULTS=
DETAIL=

drop() {
  sync
  echo 3 >"${BOOTPROOF_DROP_CACHES:-/proc/sys/vm/drop_caches}"
}

json_string() {
  printf '"%s"' "$(printf '%s' "$1" | tr '\n\t' '  ' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# Centiseconds since boot (/proc/uptime): what an operation took, the drops included, so that
# a bench can compare servers per operation (busybox's date has no sub-second format).
uptime_cs() {
  read -r _up _idle </proc/uptime
  # "1${frac}" - 100: the two decimals without a leading zero (08 is not octal then).
  echo $((${_up%.*} * 100 + 1${_up#*.} - 100))
}

run() {
  DETAIL=
  _t0=$(uptime_cs)
  if "op_$1" >/dev/null 2>/tmp/nfs-suite.err; then _ok=true; else _ok=false; fi
  _ms=$((($(uptime_cs) - _t0) * 10))
  [ "$_ok" = true ] || [ -n "$DETAIL" ] || DETAIL=$(tail -c 200 /tmp/nfs-suite.err)
  RESULTS="${RESULTS:+$RESULTS,}{\"op\":\"$1\",\"ok\":$_ok,\"ms\":$_ms,\"detail\":$(json_string "$DETAIL")}"
}

# fail DETAIL: records why; the caller returns 1 right after.
fail() {
  DETAIL=$1
}

op_create_write_fsync() {
  head -c 1048576 /dev/urandom >/tmp/src
  dd if=/tmp/src of="$BASE/file" bs=65536 conv=fsync 2>/dev/null || { fail "dd conv=fsync failed"; return 1; }
  drop
  cmp -s /tmp/src "$BASE/file" || { fail "1 MiB written with fsync reads back different"; return 1; }
}

op_rename_over_existing() {
  echo old >"$BASE/target" && echo new >"$BASE/source" || { fail "create failed"; return 1; }
  mv "$BASE/source" "$BASE/target" || { fail "rename over an existing file failed"; return 1; }
  drop
  [ "$(cat "$BASE/target")" = new ] || { fail "target holds '$(cat "$BASE/target")', not the renamed file"; return 1; }
  [ ! -e "$BASE/source" ] || { fail "the source name still exists after the rename"; return 1; }
}

op_hard_link() {
  ln "$BASE/file" "$BASE/file.link" || { fail "link failed"; return 1; }
  drop
  [ "$(stat -c %h "$BASE/file")" = 2 ] || { fail "link count $(stat -c %h "$BASE/file"), expected 2"; return 1; }
  cmp -s "$BASE/file" "$BASE/file.link" || { fail "the link reads different data"; return 1; }
  rm "$BASE/file.link"
  drop
  [ "$(stat -c %h "$BASE/file")" = 1 ] || { fail "link count $(stat -c %h "$BASE/file") after unlinking the link, expected 1"; return 1; }
}

op_symlink() {
  ln -s file "$BASE/symlink" && ln -s /etc/outside "$BASE/dangling" || { fail "symlink failed"; return 1; }
  drop
  [ "$(readlink "$BASE/symlink")" = file ] || { fail "readlink gave '$(readlink "$BASE/symlink")'"; return 1; }
  [ "$(readlink "$BASE/dangling")" = /etc/outside ] || { fail "an absolute target came back as '$(readlink "$BASE/dangling")'"; return 1; }
  cmp -s "$BASE/symlink" "$BASE/file" || { fail "reading through the symlink gave other data"; return 1; }
}

op_readdir_10000() {
  mkdir "$BASE/many" || { fail "mkdir failed"; return 1; }
  (cd "$BASE/many" && seq 1 10000 | xargs touch) || { fail "creating 10000 files failed"; return 1; }
  drop
  _n=$(ls "$BASE/many" | wc -l)
  [ "$_n" -eq 10000 ] || { fail "readdir listed $_n entries, expected 10000"; return 1; }
  [ "$(ls "$BASE/many" | sort -n | sed -n '1p;$p' | tr '\n' ' ')" = "1 10000 " ] || { fail "the listing lost its first or last name"; return 1; }
}

op_truncate() {
  truncate -s 5000 "$BASE/file" || { fail "shrinking truncate failed"; return 1; }
  drop
  [ "$(stat -c %s "$BASE/file")" = 5000 ] || { fail "size $(stat -c %s "$BASE/file") after truncate to 5000"; return 1; }
  head -c 5000 /tmp/src | cmp -s - "$BASE/file" || { fail "the kept 5000 bytes changed"; return 1; }
  truncate -s 8192 "$BASE/file" || { fail "extending truncate failed"; return 1; }
  drop
  [ "$(stat -c %s "$BASE/file")" = 8192 ] || { fail "size $(stat -c %s "$BASE/file") after truncate to 8192"; return 1; }
  [ "$(tail -c 3192 "$BASE/file" | tr -d '\0' | wc -c)" -eq 0 ] || { fail "the extended part is not zeros"; return 1; }
}

op_chmod() {
  chmod 640 "$BASE/file" || { fail "chmod failed"; return 1; }
  drop
  [ "$(stat -c %a "$BASE/file")" = 640 ] || { fail "mode $(stat -c %a "$BASE/file") after chmod 640"; return 1; }
}

op_offset_past_4gib() {
  printf 'ABCD' | dd of="$BASE/sparse" bs=1 seek=4294967300 conv=notrunc 2>/dev/null || { fail "write at 4 GiB + 4 failed"; return 1; }
  drop
  [ "$(stat -c %s "$BASE/sparse")" = 4294967304 ] || { fail "size $(stat -c %s "$BASE/sparse"), expected 4294967304"; return 1; }
  [ "$(dd if="$BASE/sparse" bs=1 skip=4294967300 count=4 2>/dev/null)" = ABCD ] || { fail "the bytes at 4 GiB + 4 read back different"; return 1; }
}

op_two_concurrent_writers() {
  head -c 524288 /dev/urandom >/tmp/w1
  head -c 524288 /dev/urandom >/tmp/w2
  dd if=/tmp/w1 of="$BASE/shared" bs=65536 conv=notrunc,fsync 2>/dev/null &
  _a=$!
  dd if=/tmp/w2 of="$BASE/shared" bs=65536 seek=8 conv=notrunc,fsync 2>/dev/null &
  _b=$!
  wait $_a || { fail "writer 1 failed"; return 1; }
  wait $_b || { fail "writer 2 failed"; return 1; }
  drop
  dd if="$BASE/shared" bs=65536 count=8 2>/dev/null | cmp -s - /tmp/w1 || { fail "writer 1's half reads back different"; return 1; }
  dd if="$BASE/shared" bs=65536 skip=8 count=8 2>/dev/null | cmp -s - /tmp/w2 || { fail "writer 2's half reads back different"; return 1; }
}

op_rmdir_not_empty() {
  mkdir "$BASE/full" && touch "$BASE/full/x" || { fail "setup failed"; return 1; }
  if rmdir "$BASE/full" 2>/tmp/rmdir.err; then
    fail "rmdir of a non-empty directory succeeded"
    return 1
  fi
  grep -q "not empty" /tmp/rmdir.err || { fail "rmdir failed with '$(cat /tmp/rmdir.err)', not 'Directory not empty'"; return 1; }
}

op_unlink_open_file() {
  echo still-here >"$BASE/open"
  exec 3<"$BASE/open"
  rm "$BASE/open" || { fail "unlink failed"; return 1; }
  drop
  _read=$(cat <&3)
  exec 3<&-
  [ "$_read" = still-here ] || { fail "an open file unlinked read '$_read'"; return 1; }
  [ ! -e "$BASE/open" ] || { fail "the unlinked name still exists"; return 1; }
}

op_rename_directory() {
  mkdir -p "$BASE/dir-a/sub" && echo x >"$BASE/dir-a/sub/f" || { fail "setup failed"; return 1; }
  mv "$BASE/dir-a" "$BASE/dir-b" || { fail "rename of a directory failed"; return 1; }
  drop
  [ "$(cat "$BASE/dir-b/sub/f")" = x ] && [ ! -e "$BASE/dir-a" ] || { fail "the renamed tree is not where it should be"; return 1; }
}

rm -rf "$BASE"
if mkdir "$BASE"; then
  for op in create_write_fsync rename_over_existing hard_link symlink readdir_10000 truncate chmod \
    offset_past_4gib two_concurrent_writers rmdir_not_empty unlink_open_file rename_directory; do
    run "$op"
  done
else
  DETAIL="mkdir $BASE failed"
  RESULTS="{\"op\":\"setup\",\"ok\":false,\"detail\":$(json_string "$DETAIL")}"
fi
printf '[%s]\n' "$RESULTS"
