#!/bin/sh
# bootproof guest probe: /init of the probe initramfs (busybox sh, PID 1).
#
# Loads the modules the machine needs, waits until device discovery has settled, prints
# what the guest sees as exactly one line
#   BOOTPROOF-OBSERVATION {json}
# (schema: WireObservationSchema in firmware/observation.ts), then powers the machine off.
# It reports raw sysfs facts only; the host derives PCI/SCSI/USB identities and decodes
# VPD page 0x80 serials, so this script stays small.
#
# Hot paths use shell builtins only (no $(...) subshells): every fork costs milliseconds
# under TCG. BOOTPROOF_SYS / BOOTPROOF_PROC / BOOTPROOF_MODULE_LIST / BOOTPROOF_OUT let the
# host unit tests run the collection part against a fake sysfs tree.

PATH=/bin:/sbin
export PATH
SYS=${BOOTPROOF_SYS:-/sys}
PROC=${BOOTPROOF_PROC:-/proc}
MODULE_LIST=${BOOTPROOF_MODULE_LIST:-/etc/bootproof/modules}
OUT=${BOOTPROOF_OUT:-/dev/ttyS0}
DEBUGFS=${BOOTPROOF_DEBUGFS:-/sys/kernel/debug}
# Settling: done when no uevent and no device appeared for QUIET_MS, no SCSI disk waits for
# its driver and no connected USB port waits for enumeration; never longer than CAP_MS.
# Without xhci's port registers in debugfs, USB hub debounce and reset (~0.3 s without any
# event) are covered by the longer USB_QUIET_MS instead.
# bootproof.quiet_ms= / bootproof.settle_cap_ms= on the kernel command line override them.
QUIET_MS=120
USB_QUIET_MS=600
CAP_MS=10000
POLL_US=20000

CTL=$(printf '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037')
# Slow path of jstr, for strings with control characters (rare in sysfs).
AWK_ESCAPE='BEGIN { for (i = 1; i < 32; i++) map[sprintf("%c", i)] = sprintf("\\u%04x", i); map["\""] = "\\\""; map["\\"] = "\\\\" }
{ text = text (NR > 1 ? "\n" : "") $0 }
END { out = ""; n = length(text); for (i = 1; i <= n; i++) { c = substr(text, i, 1); out = out ((c in map) ? map[c] : c) }; printf "\"%s\"", out }'

# say LINE: one line on the harness's serial console (the kernel console when ttyS0 is absent).
say() {
  printf '%s\n' "$1" >"$OUT" 2>/dev/null || printf '%s\n' "$1"
}

# jstr VALUE: sets J to VALUE as a JSON string literal.
jstr() {
  _v=$1
  case $_v in
  *[$CTL]*)
    J=$(printf '%s' "$_v" | awk "$AWK_ESCAPE")
    return
    ;;
  esac
  _v=${_v//\\/\\\\}
  _v=${_v//\"/\\\"}
  J="\"$_v\""
}

# readattr FILE: sets A to the first line of FILE; fails when it is missing or unreadable.
readattr() {
  A=
  [ -f "$1" ] || return 1
  IFS= read -r A <"$1" 2>/dev/null || [ -n "$A" ]
}

# jattr FILE: sets J to the attribute as a JSON string, or null.
jattr() {
  if readattr "$1"; then jstr "$A"; else J=null; fi
}

# jfields DIR KEY=ATTRIBUTE...: appends ,"KEY":<jattr DIR/ATTRIBUTE> to _j for each pair.
jfields() {
  _dir=$1
  shift
  for _pair; do
    jattr "$_dir/${_pair#*=}"
    _j="$_j,\"${_pair%%=*}\":$J"
  done
}

# jdriver DEVICE: sets J to the name of the driver bound to the sysfs device, or null.
jdriver() {
  J=null
  [ -e "$1/driver" ] || return 0
  realpath_of "$1/driver"
  jstr "${R##*/}"
}

# jhex FILE: sets J to the file's bytes as lower-case hex (binary VPD pages), or null.
jhex() {
  J=null
  [ -f "$1" ] || return 0
  _h=$(hexdump -ve '1/1 "%02x"' "$1" 2>/dev/null) || return 0
  [ -n "$_h" ] && J="\"$_h\""
}

# realpath_of PATH: sets R to the symlink-free path (builtin cd -P, no fork).
realpath_of() {
  R=
  cd -P "$1" 2>/dev/null && R=$PWD
  cd /
}

# now_ms: sets NOW to milliseconds since boot (10 ms resolution, from /proc/uptime).
now_ms() {
  read -r _up _idle <"$PROC/uptime"
  NOW=$(((${_up%.*} * 100 + 1${_up#*.} - 100) * 10))
}

cmdline_option() { # cmdline_option KEY: sets V to the value of KEY= on the kernel command line
  V=
  for _t in $CMDLINE; do
    case $_t in "$1"=*) V=${_t#*=} ;; esac
  done
}

MODULES_LOADED=
MODULE_ERRORS=
# Host adapter drivers create SCSI hosts and disks; settling after each one (with scsi_mod's
# scan=sync) makes host numbers and sdX names follow the load order instead of a race.
# USB host controllers and usb-storage count as host adapters too: their disks appear
# asynchronously (hub enumeration), and after the first bind nothing binds late SCSI devices.
HOST_ADAPTERS=" ata_piix ahci virtio_scsi sym53c8xx megaraid_sas vmw_pvscsi xhci_pci uhci_hcd ehci_pci ohci_pci usb_storage "
load_modules() {
  [ -f "$MODULE_LIST" ] || return 0
  # A kernel with the SCSI core built in (the fast probe kernel) has the bus before any insmod.
  [ -f "$SYS/bus/scsi/drivers_autoprobe" ] && echo 0 >"$SYS/bus/scsi/drivers_autoprobe"
  while read -r _name _path _params; do
    [ -n "$_name" ] || continue
    # shellcheck disable=SC2086 # parameters are separate words on purpose
    if _err=$(insmod "/$_path" $_params 2>&1); then
      jstr "$_name"
      MODULES_LOADED="$MODULES_LOADED${MODULES_LOADED:+,}$J"
      case $HOST_ADAPTERS in *" $_name "*) settle ;; esac
      # From here on the SCSI bus binds nothing by itself: bind_scsi_in_order does it.
      [ "$_name" = scsi_mod ] && echo 0 >"$SYS/bus/scsi/drivers_autoprobe"
    else
      jstr "$_name: ${_err:-insmod failed}"
      MODULE_ERRORS="$MODULE_ERRORS${MODULE_ERRORS:+,}$J"
    fi
  done <"$MODULE_LIST"
}

# sd and sr probe asynchronously, so left alone they name disks in the order of a race. The
# probe binds every SCSI device itself, synchronously, in H:C:T:L order: sdX/srN names then
# follow the bus, as in a guest that scans in order, and differ only when the layout does.
bind_scsi_in_order() {
  [ -d "$SYS/bus/scsi/devices" ] || return 0
  for _s in "$SYS"/bus/scsi/devices/*:*:*:*; do
    [ -f "$_s/type" ] && echo "${_s##*/}"
  done | sort -t: -k1,1n -k2,2n -k3,3n -k4,4n | while read -r _hctl; do
    read -r _type <"$SYS/bus/scsi/devices/$_hctl/type"
    case $_type in
    0 | 7 | 14) _driver=sd ;;
    5) _driver=sr ;;
    *) continue ;;
    esac
    [ -e "$SYS/bus/scsi/devices/$_hctl/driver" ] && continue
    [ -w "$SYS/bus/scsi/drivers/$_driver/bind" ] && echo "$_hctl" >"$SYS/bus/scsi/drivers/$_driver/bind" 2>/dev/null
  done
}

# A SCSI disk/CD whose upper driver (sd/sr) is loaded but not yet bound is still settling.
scsi_pending() {
  for _s in "$SYS"/bus/scsi/devices/*:*:*:*; do
    [ -f "$_s/type" ] || continue
    read -r _type <"$_s/type"
    case $_type in
    0 | 7 | 14) [ -d "$SYS/module/sd_mod" ] || continue ;;
    5) [ -d "$SYS/module/sr_mod" ] || continue ;;
    *) continue ;;
    esac
    [ -d "$_s/block" ] || return 0
  done
  return 1
}

# libata probes ports in each host's SCSI error-handler thread (link reset, IDENTIFY) while
# insmod has long returned; an absent device's class reads "unknown" forever, so the thread
# itself is the signal: busy (running or in an uninterruptible wait) means still probing.
ata_pending() {
  for _comm in "$PROC"/[0-9]*/comm; do
    read -r _name <"$_comm" 2>/dev/null || continue
    case $_name in scsi_eh_*) ;; *) continue ;; esac
    read -r _stat <"${_comm%/comm}/stat" 2>/dev/null || continue
    # /proc/PID/stat: "PID (comm) STATE ..."; comm has no spaces for kernel threads.
    set -- $_stat
    case $3 in R | D) return 0 ;; esac
  done
  return 1
}

# USB is still settling while xhci reports more connected root-hub ports than Linux has
# enumerated devices, or a usb-storage interface has no SCSI target yet.
USB_PORTS_VISIBLE=
usb_pending() {
  _connected=0
  for _p in "$DEBUGFS"/usb/xhci/*/ports/*/portsc; do
    [ -f "$_p" ] || continue
    USB_PORTS_VISIBLE=1
    read -r _state <"$_p"
    case " $_state " in *" Connected "*) _connected=$((_connected + 1)) ;; esac
  done
  _enumerated=0
  for _u in "$SYS"/bus/usb/devices/*-*; do
    case ${_u##*/} in *:* | *.*) continue ;; esac
    [ -e "$_u" ] && _enumerated=$((_enumerated + 1))
  done
  [ "$_connected" -gt "$_enumerated" ] && return 0
  for _i in "$SYS"/bus/usb/drivers/usb-storage/*:*; do
    [ -e "$_i" ] || continue
    set -- "$_i"/host*/target*
    [ -e "$1" ] || return 0
  done
  return 1
}

SETTLE_MS=0
settle() {
  cmdline_option bootproof.quiet_ms
  [ -n "$V" ] && QUIET_MS=$V && USB_QUIET_MS=$V
  cmdline_option bootproof.settle_cap_ms
  [ -n "$V" ] && CAP_MS=$V
  now_ms
  _start=$NOW
  _since=$NOW
  _last=
  while :; do
    _quiet=$QUIET_MS
    if [ -z "$USB_PORTS_VISIBLE" ]; then
      for _u in "$SYS"/bus/usb/devices/usb*; do
        [ -e "$_u" ] && _quiet=$USB_QUIET_MS
        break
      done
    fi
    read -r _seq <"$SYS/kernel/uevent_seqnum"
    set -- "$SYS"/block/* "$SYS"/class/net/*
    _sig="$_seq $*"
    now_ms
    if [ "$_sig" != "$_last" ] || scsi_pending || usb_pending || ata_pending; then
      _last=$_sig
      _since=$NOW
    elif [ $((NOW - _since)) -ge "$_quiet" ]; then
      break
    fi
    [ $((NOW - _start)) -ge "$CAP_MS" ] && break
    usleep "$POLL_US"
  done
  SETTLE_MS=$((SETTLE_MS + NOW - _start))
}

# The closest USB device (a directory with idVendor) above a sysfs path: its serial string.
usb_serial() {
  _p=$1
  while [ -n "$_p" ] && [ "$_p" != "$SYS/devices" ]; do
    _p=${_p%/*}
    if [ -f "$_p/idVendor" ]; then
      readattr "$_p/serial"
      return
    fi
  done
  return 1
}

PRINTABLE=' !"#$%&'"'"'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'

# ATA and ATAPI devices: the serial number from the IDENTIFY data libata keeps
# (words 10-19, two ASCII characters per word, high byte first). ATAPI CD drives answer
# no VPD page 0x80, so this is their only serial. Sets A; fails when there is none.
ata_serial() {
  _ata=${1%%/host*}
  case ${_ata##*/} in ata[0-9]*) ;; *) return 1 ;; esac
  _hctl=${1%/block/*}
  _hctl=${_hctl##*/}
  _t=${_hctl#*:}
  _t=${_t#*:}
  _t=${_t%%:*}
  for _id in "$_ata"/link*/dev*."$_t"/ata_device/dev*."$_t"/id; do
    [ -f "$_id" ] || return 1
    _words=
    while read -r _line; do _words="$_words $_line"; done <"$_id"
    # shellcheck disable=SC2086 # split the words on purpose
    set -- $_words
    [ $# -ge 20 ] || return 1
    shift 10
    A=
    for _n in 1 2 3 4 5 6 7 8 9 10; do
      for _byte in "${1%??}" "${1#??}"; do
        _c=$((0x$_byte))
        [ "$_c" -ge 32 ] && [ "$_c" -le 126 ] && A="$A${PRINTABLE:$((_c - 32)):1}"
      done
      shift
    done
    while [ "${A% }" != "$A" ]; do A=${A% }; done
    while [ "${A# }" != "$A" ]; do A=${A# }; done
    [ -n "$A" ]
    return
  done
  return 1
}

collect_block_devices() {
  BLOCK=
  for _d in "$SYS"/block/*; do
    [ -e "$_d" ] || continue
    _name=${_d##*/}
    case $_name in loop* | ram* | zram*) continue ;; esac
    realpath_of "$_d"
    _path=$R
    jstr "$_name"
    _j="{\"name\":$J"
    readattr "$_d/size"
    _j="$_j,\"sectors\":${A:-0}"
    jstr "$_path"
    _j="$_j,\"sysfsPath\":$J"
    # virtio-blk exposes its serial directly; USB disks carry it on the USB device; ATA
    # and ATAPI devices in their IDENTIFY data; SCSI disks report it in VPD page 0x80,
    # which the host decodes when this field is null.
    if readattr "$_d/serial" || usb_serial "$_path" || ata_serial "$_path"; then jstr "$A"; else J=null; fi
    _j="$_j,\"serial\":$J"
    jattr "$_d/device/wwid"
    _j="$_j,\"wwid\":$J"
    jhex "$_d/device/vpd_pg80"
    _j="$_j,\"vpd80\":$J"
    jhex "$_d/device/vpd_pg83"
    _j="$_j,\"vpd83\":$J"
    # vendor/model only for SCSI-like devices: a virtio device's "vendor" is a PCI ID.
    if [ -f "$_d/device/model" ]; then
      jattr "$_d/device/vendor"
      _j="$_j,\"vendor\":$J"
      jattr "$_d/device/model"
      _j="$_j,\"model\":$J"
    else
      _j="$_j,\"vendor\":null,\"model\":null"
    fi
    readattr "$_d/removable"
    _j="$_j,\"removable\":${A:-0}"
    readattr "$_d/ro"
    _j="$_j,\"readOnly\":${A:-0}}"
    BLOCK="$BLOCK${BLOCK:+,}$_j"
  done
}

# sysfs_entry DIR: starts _j as {"name":<DIR's name>,"sysfsPath":<readlink -f DIR>.
sysfs_entry() {
  jstr "${1##*/}"
  _j="{\"name\":$J"
  realpath_of "$1"
  jstr "$R"
  _j="$_j,\"sysfsPath\":$J"
}

collect_nics() {
  NICS=
  for _n in "$SYS"/class/net/*; do
    [ -e "$_n" ] || continue
    _name=${_n##*/}
    [ "$_name" = lo ] && continue
    sysfs_entry "$_n"
    jattr "$_n/address"
    [ "$J" = null ] && J='""'
    _j="$_j,\"mac\":$J"
    jdriver "$_n/device"
    _j="$_j,\"driver\":$J}"
    NICS="$NICS${NICS:+,}$_j"
  done
}

# Every PCI function: ids as sysfs prints them, the bound driver, and the path through bridges.
collect_pci() {
  PCI=
  for _f in "$SYS"/bus/pci/devices/*; do
    [ -e "$_f" ] || continue
    sysfs_entry "$_f"
    jfields "$_f" vendor=vendor device=device class=class subsystemVendor=subsystem_vendor subsystemDevice=subsystem_device
    jdriver "$_f"
    PCI="$PCI${PCI:+,}$_j,\"driver\":$J}"
  done
}

# Every USB device, root hubs (usbN) included; interfaces (B-P:C.I) are skipped.
collect_usb() {
  USB=
  for _u in "$SYS"/bus/usb/devices/*; do
    case ${_u##*/} in *:*) continue ;; usb[0-9]* | [0-9]*-[0-9]*) ;; *) continue ;; esac
    [ -e "$_u" ] || continue
    sysfs_entry "$_u"
    jfields "$_u" idVendor=idVendor idProduct=idProduct product=product speed=speed
    USB="$USB${USB:+,}$_j}"
  done
}

collect_boot_order() {
  BOOT_ORDER=null
  _raw="$SYS/firmware/qemu_fw_cfg/by_name/bootorder/raw"
  [ -f "$_raw" ] || return 0
  _list=
  # The fw_cfg file is newline-separated and NUL-terminated.
  while IFS= read -r _line || [ -n "$_line" ]; do
    [ -n "$_line" ] || continue
    jstr "$_line"
    _list="$_list${_list:+,}$J"
  done <<EOF
$(tr -d '\000' <"$_raw")
EOF
  BOOT_ORDER="[$_list]"
}

# iBFT sections and attributes as firmware published them. CHAP secrets never reach the
# console: they are replaced by "sha256:<hex>" so properties can still compare them.
collect_ibft() {
  IBFT=null
  [ -d "$SYS/firmware/ibft" ] || return 0
  _sections=
  for _sec in "$SYS"/firmware/ibft/*; do
    [ -d "$_sec" ] || continue
    _attrs=
    for _f in "$_sec"/*; do
      [ -f "$_f" ] || continue
      readattr "$_f" || continue
      case ${_f##*/} in
      *secret*)
        _sum=$(printf '%s' "$A" | sha256sum)
        A="sha256:${_sum%% *}"
        ;;
      esac
      jstr "${_f##*/}"
      _k=$J
      jstr "$A"
      _attrs="$_attrs${_attrs:+,}$_k:$J"
    done
    jstr "${_sec##*/}"
    _sections="$_sections${_sections:+,}$J:{$_attrs}"
  done
  IBFT="{$_sections}"
}

collect_mounts() {
  MOUNTS=
  while read -r _src _target _fstype _rest; do
    jstr "$_src"
    _j="{\"source\":$J"
    jstr "$_target"
    _j="$_j,\"target\":$J"
    jstr "$_fstype"
    MOUNTS="$MOUNTS${MOUNTS:+,}$_j,\"fstype\":$J}"
  done <"$PROC/mounts"
}

# udhcpc_event EVENT: udhcpc's script (udhcpc runs /init with BOOTPROOF_PROBE_MODE=udhcpc):
# configures the lease it got on the interface.
udhcpc_event() {
  case $1 in
  bound | renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    for _gw in $router; do route add default gw "$_gw" dev "$interface" && break; done
    ;;
  deconfig) ifconfig "$interface" 0.0.0.0 up ;;
  esac
}

# network_up IP_ARG: brings up eth0 as the kernel's ip= parameter says (dhcp, or
# client::gateway:netmask::device:off), as an initramfs does for a root on NFS.
network_up() {
  ip link set lo up 2>/dev/null
  ip link set eth0 up || { NET_ERROR="no eth0"; return 1; }
  case $1 in
  dhcp | on | any | "")
    BOOTPROOF_PROBE_MODE=udhcpc udhcpc -i eth0 -n -q -t 5 -T 1 -s /init >/dev/null 2>&1 || {
      NET_ERROR="no DHCP lease on eth0"
      return 1
    }
    ;;
  *)
    _old_ifs=$IFS
    IFS=:
    set -- $1
    IFS=$_old_ifs
    ifconfig "${6:-eth0}" "$1" netmask "${4:-255.255.255.0}" up || { NET_ERROR="ip=$*: bad address"; return 1; }
    [ -n "$3" ] && route add default gw "$3"
    ;;
  esac
}

# nfs_root: with root=/dev/nfs (the kernel's own syntax, left to the initramfs by Debian's
# modular kernel), mounts nfsroot=SERVER:PATH[,OPTIONS] on /root after bringing the network
# up per ip=, reads the export's bootproof-marker and writes bootproof-guest-wrote there
# (content: bootproof.nfs_write=, default the kernel release) for the host to find.
NFS_ROOT=null
nfs_root() {
  case " $CMDLINE " in *" root=/dev/nfs "*) ;; *) return ;; esac
  _nfsroot=
  _ip=
  _write=
  _suite=
  for _arg in $CMDLINE; do
    case $_arg in
    nfsroot=*) _nfsroot=${_arg#nfsroot=} ;;
    ip=*) _ip=${_arg#ip=} ;;
    bootproof.nfs_write=*) _write=${_arg#bootproof.nfs_write=} ;;
    bootproof.nfs_suite=1) _suite=pending ;;
    esac
  done
  _source=${_nfsroot%%,*}
  _opts=
  case $_nfsroot in *,*) _opts=${_nfsroot#*,} ;; esac
  _server=${_source%%:*}
  _error=
  _marker=null
  _wrote=false
  if [ -z "$_nfsroot" ] || [ "$_server" = "$_source" ]; then
    _error="nfsroot= must be SERVER:PATH[,OPTIONS], got '$_nfsroot'"
  elif ! network_up "$_ip"; then
    _error="network: $NET_ERROR"
  else
    mkdir -p /root
    # The kernel's own NFS mount client speaks MOUNT itself: it needs the addresses.
    if _out=$(mount -t nfs -o "nolock,addr=$_server,mountaddr=$_server${_opts:+,$_opts}" "$_source" /root 2>&1); then
      if readattr /root/bootproof-marker; then
        jstr "$A"
        _marker=$J
      fi
      [ -n "$_write" ] || readattr "$PROC/sys/kernel/osrelease" && _write=${_write:-$A}
      printf '%s\n' "$_write" >/root/bootproof-guest-wrote && sync && _wrote=true
      # The POSIX operations suite (nfs-suite.sh), through this kernel's NFS client.
      [ "$_suite" = pending ] && _suite=$(/bin/bootproof-nfs-suite /root)
    else
      _error="mount: $_out"
    fi
  fi
  jstr "$_source"
  _j="{\"source\":$J"
  jstr "$_opts"
  _j="$_j,\"options\":$J,\"marker\":$_marker,\"wrote\":$_wrote"
  case $_suite in "["*) _j="$_j,\"suite\":$_suite" ;; esac
  if [ -n "$_error" ]; then
    jstr "$_error"
    _j="$_j,\"error\":$J"
  fi
  NFS_ROOT="$_j}"
}

# deploy_image: with bootproof.deploy_image=URL and bootproof.deploy_disk=/dev/NAME (the disk
# the deploy agent chose), the probe is a deploy ramdisk: it brings the network up per ip=,
# downloads the image into RAM, writes it to the disk and flushes it to the device, as
# ironic-python-agent's write_image does for a raw image.
DEPLOY=null
deploy_image() {
  _url=
  _disk=
  _ip=dhcp
  for _arg in $CMDLINE; do
    case $_arg in
    bootproof.deploy_image=*) _url=${_arg#bootproof.deploy_image=} ;;
    bootproof.deploy_disk=*) _disk=${_arg#bootproof.deploy_disk=} ;;
    ip=*) _ip=${_arg#ip=} ;;
    esac
  done
  [ -n "$_url" ] || return
  _error=
  _bytes=0
  _sha=null
  if [ -z "$_disk" ] || [ ! -b "$_disk" ]; then
    _error="bootproof.deploy_disk='$_disk' is not a block device"
  elif ! network_up "$_ip"; then
    _error="network: $NET_ERROR"
  elif ! _out=$(wget -q -O /deploy-image "$_url" 2>&1); then
    _error="download of $_url failed: $_out"
  else
    _bytes=$(wc -c </deploy-image)
    _sum=$(sha256sum /deploy-image)
    jstr "${_sum%% *}"
    _sha=$J
    if ! _out=$(dd if=/deploy-image of="$_disk" bs=1M conv=fsync 2>&1); then
      _error="writing $_disk failed: $_out"
    else
      sync
      blockdev --flushbufs "$_disk" 2>/dev/null
    fi
    rm -f /deploy-image
  fi
  jstr "$_disk"
  _j="{\"disk\":$J"
  jstr "$_url"
  _j="$_j,\"image\":$J,\"bytes\":${_bytes:-0},\"sha256\":$_sha"
  if [ -n "$_error" ]; then
    jstr "$_error"
    _j="$_j,\"error\":$J"
  fi
  DEPLOY="$_j}"
}

# observation_json: prints the whole observation as one JSON object.
observation_json() {
  readattr "$PROC/sys/kernel/osrelease"
  jstr "$A"
  _release=$J
  jstr "$CMDLINE"
  _cmdline=$J
  collect_block_devices
  collect_nics
  collect_pci
  collect_usb
  collect_boot_order
  collect_ibft
  collect_mounts
  read -r _up _idle <"$PROC/uptime"
  printf '{"schema":1,"kernelRelease":%s,"cmdline":%s,"blockDevices":[%s],"nics":[%s],"pciFunctions":[%s],"usbDevices":[%s],"bootOrder":%s,"ibft":%s,"mounts":[%s],"nfsRoot":%s,"deploy":%s,"modulesLoaded":[%s],"moduleErrors":[%s],"settleMs":%s,"uptimeSeconds":%s}' \
    "$_release" "$_cmdline" "$BLOCK" "$NICS" "$PCI" "$USB" "$BOOT_ORDER" "$IBFT" "$MOUNTS" "$NFS_ROOT" "$DEPLOY" "$MODULES_LOADED" "$MODULE_ERRORS" "$SETTLE_MS" "$_up"
}

main() {
  mount -t proc proc /proc
  mount -t sysfs sysfs /sys
  mount -t devtmpfs devtmpfs /dev
  say "BOOTPROOF-PROBE start"
  CMDLINE=
  readattr /proc/cmdline && CMDLINE=$A
  # debugfs shows xhci's port status registers to the USB settle check; it is unmounted
  # again so the observation's mount list shows only what the boot itself set up.
  mount -t debugfs debugfs "$DEBUGFS" 2>/dev/null
  load_modules
  bind_scsi_in_order
  settle
  umount "$DEBUGFS" 2>/dev/null
  nfs_root
  deploy_image
  OBSERVATION=$(observation_json)
  # Kernel messages printed in the middle of the line would corrupt it: from here on only
  # emergencies reach the console.
  echo 1 >/proc/sys/kernel/printk
  say "BOOTPROOF-OBSERVATION $OBSERVATION"
  # Wait until the UART has sent everything (stty sets attributes with TCSADRAIN), or
  # power-off could cut the line short.
  stty -F "$OUT" onlcr 2>/dev/null
  poweroff -f
  # QEMU runs with -no-reboot, so a reboot ends the guest as well.
  reboot -f
  sleep 5
}

case ${BOOTPROOF_PROBE_MODE:-init} in
udhcpc)
  udhcpc_event "$1"
  ;;
collect)
  # Host tests: print the observation for a fake tree; never insmod on the host.
  CMDLINE=
  readattr "$PROC/cmdline" && CMDLINE=$A
  observation_json
  echo
  ;;
library) ;; # Host tests source the functions only.
*) main ;;
esac
