#!/usr/bin/env bash
# Runs a command inside a real Linux kernel with a pure cgroup v2 hierarchy: a QEMU VM (TCG, no
# KVM needed) booted from Debian 12 packages, with a copy of this checkout and its node_modules
# shared in read-only (writes go to a throwaway overlay), at the same path as here. The image is built once and cached (see buildImage.sh); the first run
# installs qemu-system-x86 and mmdebstrap. Root only.
#
#   scripts/vm/testVm.sh                       the sandbox and gateway test files
#   scripts/vm/testVm.sh -- npm run bench:sandbox   any command, from the checkout's root
#
# Environment: SANDRUN_VM_KERNEL (stable: Debian 12's 6.1, the default; backports: 6.12 from
# bookworm-backports, where emptied v2 cgroups are reused), SANDRUN_VM_CACHE (default
# /var/cache/sandrun-vm; a backports image lives in its backports/ folder), SANDRUN_VM_CPUS (2),
# SANDRUN_VM_CGROUP (v2, the default, or v1: the legacy hierarchy, for comparisons),
# SANDRUN_VM_MEMORY (4G), SANDRUN_VM_TIMEOUT (seconds, 7200), SANDRUN_VM_OUT (a host directory
# the guest's /vm/out is copied to, for benchmark results).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
say() { printf '[vm] %s\n' "$*" >&2; }

if [ "${1:-}" = -- ]; then shift; fi
if [ $# -eq 0 ]; then
  # Emulated CPUs are many times slower: one sandbox start-up can take a minute on a busy host, so
  # one test file at a time (vitest gives a worker 60 s to start) and long hook and test timeouts.
  # The gateway load test (1000 jobs) is left to real machines: it tests HTTP, not the kernel.
  set -- npx vitest run --maxWorkers=1 --testTimeout=900000 --hookTimeout=900000 --exclude test/gateway/load.test.ts \
    sandbox test/sandbox test/gateway test/vm
fi
if [ "$(id -u)" != 0 ]; then
  echo "[vm] needs root (it installs qemu and builds a disk image)" >&2
  exit 1
fi

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The image is named after what goes into it: the build script, the node binary and its npm.
node=$(readlink -f "$(command -v node)")
key=$(cat "$here/buildImage.sh" "$node" "$(dirname "$node")/../lib/node_modules/npm/package.json" 2>/dev/null | sha256sum | cut -c1-16)
kernel=${SANDRUN_VM_KERNEL:-stable}
cache=${SANDRUN_VM_CACHE:-/var/cache/sandrun-vm}
case "$kernel" in
  stable) ;;
  backports) cache="$cache/backports" ;;
  *) echo "[vm] SANDRUN_VM_KERNEL must be stable or backports, not '$kernel'" >&2; exit 2 ;;
esac
image="$cache/$key"
mkdir -p "$cache"
if [ ! -f "$image.ext4" ]; then
  started=$SECONDS
  ( flock 9; [ -f "$image.ext4" ] || bash "$here/buildImage.sh" "$image" "$kernel" ) 9>"$cache/.build.lock"
  say "image built in $((SECONDS - started)) s"
  # Older images (other build scripts or node binaries) are not used again.
  find "$cache" -maxdepth 1 -type f \( -name '*.ext4' -o -name '*.vmlinuz' -o -name '*.initrd' \) ! -name "$key.*" -delete
fi

work=$(mktemp -d /tmp/sandrun-vm-XXXXXX)
trap 'rm -rf "$work"' EXIT
control="$work/control"
snapshot="$work/project"
mkdir -p "$control" "$snapshot"
# The checkout as it is now (tracked and untracked files, not what git ignores): edits made while
# the VM runs do not reach it. node_modules is shared read-only from where it really lives.
(cd "$project" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$snapshot" -xf -
modules=$(readlink -f "$project/node_modules")
shares=(
  -virtfs "local,path=$control,mount_tag=control,security_model=none"
  -virtfs "local,path=$snapshot,mount_tag=project,security_model=none,readonly=on"
  -virtfs "local,path=$modules,mount_tag=modules,security_model=none,readonly=on"
)
mounts="share project $(printf %q "$project")
share modules $(printf %q "$project/node_modules")"

cat > "$control/guest.sh" <<GUEST
# Written by testVm.sh; runs as root in the guest under sandrun-vm.service.
set -e
# Each share read-only from the host, writable here through an overlay on a tmpfs.
mkdir -p /vm/overlays && mount -t tmpfs -o size=2G overlays /vm/overlays
share() {
  mkdir -p "/vm/lower/\$1" "/vm/overlays/\$1/upper" "/vm/overlays/\$1/work" "\$2"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro "\$1" "/vm/lower/\$1"
  mount -t overlay overlay -o "lowerdir=/vm/lower/\$1,upperdir=/vm/overlays/\$1/upper,workdir=/vm/overlays/\$1/work" "\$2"
}
$mounts
mkdir -p /vm/out
cd $(printf %q "$project")
# SANDRUN_TEST_SLOWDOWN: tests scale job timeouts and CPU-time bounds by it (test/host/hostSlowdown.ts).
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin HOME=/root CI=1 SANDRUN_VM=1 SANDRUN_TEST_SLOWDOWN=\${SANDRUN_TEST_SLOWDOWN:-20}
echo "[vm] kernel \$(uname -r), cgroup \$(stat -fc %T /sys/fs/cgroup), \$(nproc) CPUs; running: $(printf '%q ' "$@")"
set +e
$(printf '%q ' "$@")
echo \$? > /vm/control/exit-code
cp -r /vm/out /vm/control/out 2>/dev/null
GUEST

cpus=${SANDRUN_VM_CPUS:-2}
# SANDRUN_VM_CGROUP=v1 boots the same kernel with the legacy hierarchy instead: v1 and v2 compared
# on one emulated CPU (the benchmarks' ratios), not this host's v1 against the VM's v2.
case "${SANDRUN_VM_CGROUP:-v2}" in
  v2) hierarchy="systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all" ;;
  v1) hierarchy="systemd.unified_cgroup_hierarchy=0 SYSTEMD_CGROUP_ENABLE_LEGACY_FORCE=1" ;;
  *) echo "[vm] SANDRUN_VM_CGROUP must be v1 or v2, not '$SANDRUN_VM_CGROUP'" >&2; exit 2 ;;
esac
say "booting (TCG, $cpus CPUs, cgroup ${SANDRUN_VM_CGROUP:-v2} only)"
started=$SECONDS
set +e
# Two hours: the full default suite ran past one hour on a busy 2-core host (14 of 42 files in 60 min).
timeout --foreground "${SANDRUN_VM_TIMEOUT:-7200}" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp "$cpus" -m "${SANDRUN_VM_MEMORY:-4G}" \
  -kernel "$image.vmlinuz" -initrd "$image.initrd" \
  -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=false $hierarchy mitigations=off panic=-1" \
  -drive "file=$image.ext4,if=virtio,format=raw,snapshot=on" \
  "${shares[@]}" \
  -display none -serial stdio -monitor none -no-reboot -nic none
qemu=$?
set -e
say "VM ran $((SECONDS - started)) s"
if [ -n "${SANDRUN_VM_OUT:-}" ] && [ -d "$control/out" ]; then
  mkdir -p "$SANDRUN_VM_OUT"
  cp -r "$control/out/." "$SANDRUN_VM_OUT/"
fi
if [ ! -f "$control/exit-code" ]; then
  say "the command did not finish (qemu exit $qemu)"
  exit 1
fi
exit "$(cat "$control/exit-code")"
