#!/bin/bash
# Reproduction (run as root, from anywhere; needs the built dist/): fdatasync fails once at
# writeback (ENOSPC from a loop device whose image sits on a full tmpfs), the fault clears, later
# writes succeed; after the page cache is dropped (unmount + mount, as after a reboot), the next
# open quarantines acknowledged records and `verify` reports damage or nothing.
set -u
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
B=$(mktemp -d /tmp/dihya-fsync-repro-XXXX); mkdir -p "$B/outer" "$B/ext4"
cleanup() { cd /; umount "$B/ext4" 2>/dev/null; umount "$B/outer" 2>/dev/null; }
trap cleanup EXIT
mount -t tmpfs -o size=48m tmpfs "$B/outer"
truncate -s 40M "$B/outer/img"; mkfs.ext4 -q -O ^has_journal "$B/outer/img"
mount -o loop,errors=continue "$B/outer/img" "$B/ext4"
mkdir -p "$B/ext4/w"; cd "$B/ext4/w"
export DIHYA_LOGS_MASTER_KEY=$(head -c32 /dev/urandom | base64) UV_USE_IO_URING=0
echo 'dir: ./logs' > dihya-logs.yaml
CLI="node $ROOT/bin/dihya-logs.js"
$CLI init >/dev/null
big=$(head -c "${SIZE:-3000}" /dev/zero | tr '\0' y)
w() { $CLI write --channel audit --level AUDIT --event t.e --msg "$1 $big" >/dev/null 2>&1; echo "write $1 -> exit $?"; }
w before1
dd if=/dev/zero of="$B/outer/filler" bs=1M 2>/dev/null   # the tmpfs under the image is full
for i in 1 2 3; do w during$i; done
rm "$B/outer/filler"                                        # the fault clears
w after1; w after2
echo "audit.log as the page cache has it:"; grep -ao '"msg":"[a-z0-9]*' logs/audit.log | tr '\n' ' '; echo
cd /; umount "$B/ext4"; mount -o loop,errors=continue "$B/outer/img" "$B/ext4"; cd "$B/ext4/w"
echo "audit.log on disk (after unmount + mount):"; grep -ao '"msg":"[a-z0-9]*' logs/audit.log | tr '\n' ' '; echo
w afterReboot
echo "audit.log after the next open:"; grep -ao '"msg":"[a-z0-9]*' logs/audit.log | tr '\n' ' '; echo
echo "quarantine:"; for f in logs/.integrity/quarantine/*; do [ -e "$f" ] && echo "  $(basename "$f"): $(grep -ao '"msg":"[a-z0-9]*' "$f" | tr '\n' ' ')$(tr -d '\0' < "$f" | wc -c) non-NUL bytes of $(wc -c < "$f")"; done
$CLI verify --no-progress | grep -v "^  [a-z]* .*ok$" | head -12
