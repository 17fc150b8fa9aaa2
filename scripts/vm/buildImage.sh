#!/usr/bin/env bash
# Builds the test VM's disk image, kernel and initrd from Debian packages (mmdebstrap), into
# $1 (a cache directory named after this script's hash, see testVm.sh). Debian 12's kernel (6.1),
# or with $2 = backports its 6.12 from bookworm-backports (the kernel where emptied v2 cgroups can
# be reused: memory.peak resets); boot with a pure cgroup v2 hierarchy; systemd as init (the units and Delegate= are under test);
# bubblewrap, gcc and the interpreters from apt; the host's own node binary, since Debian 12's
# nodejs is 18 and the project needs >= 20.19. Root, network access to the Debian mirror.
set -euo pipefail
out=$1
kernel=${2:-stable}
say() { printf '[vm] %s\n' "$*" >&2; }

case "$kernel" in
  stable) linux=linux-image-amd64; backports=() ;;
  backports) linux=linux-image-amd64/bookworm-backports; backports=("deb http://deb.debian.org/debian bookworm-backports main") ;;
  *) echo "[vm] unknown kernel '$kernel' (stable or backports)" >&2; exit 2 ;;
esac
packages=(
  "$linux" systemd systemd-sysv udev dbus dbus-user-session libpam-systemd kmod
  bubblewrap python3 ruby php-cli r-base-core perl gcc libc6-dev libstdc++6
  procps util-linux iproute2 ca-certificates e2fsprogs
)
# The packages are the slow part (minutes): kept as a tarball named after the list, so a change
# to the configuration below only repeats the rest (about a minute).
packages_tar="$(dirname "$out")/packages-$(echo "${packages[*]}" | sha256sum | cut -c1-16).tar"
if [ ! -f "$packages_tar" ]; then
  say "debootstrapping Debian 12 with ${#packages[@]} packages (several minutes; downloads ~400 MB)"
  mmdebstrap --mode=root --variant=apt --format=tar --quiet \
    --include="$(IFS=,; echo "${packages[*]}")" \
    bookworm "$packages_tar.tmp" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" \
    ${backports[@]+"${backports[@]}"}
  mv "$packages_tar.tmp" "$packages_tar"
fi
root="$out.root"
rm -rf "$root"
mkdir -p "$root"
tar -C "$root" -xf "$packages_tar"

say "configuring the guest"
node=$(command -v node)
install -m 0755 "$(readlink -f "$node")" "$root/usr/bin/node"
# npm (npx, npm run) as the host has it, next to its node.
npm_dir="$(dirname "$(readlink -f "$node")")/../lib/node_modules/npm"
if [ -d "$npm_dir" ]; then
  mkdir -p "$root/usr/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
fi
# node's libraries (libstdc++, libgcc) come from the packages above; fail now if one is missing.
chroot "$root" /usr/bin/node --version >/dev/null
echo sandrun-vm > "$root/etc/hostname"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$root/etc/fstab"
# A non-root user with a systemd user manager started at boot: the delegation tests run as it.
chroot "$root" useradd --create-home --uid 1000 --shell /bin/bash sandrun
mkdir -p "$root/var/lib/systemd/linger"
touch "$root/var/lib/systemd/linger/sandrun"
# The serial console carries the test output only: no login prompt, no timers doing apt work.
for unit in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# The unit that runs the host's command: everything it does is in the control share (testVm.sh
# writes it), so changing what runs never rebuilds the image. Delegate=yes: the service manages
# its own cgroup subtree, as a worker's unit does (contrib/systemd).
cat > "$root/etc/systemd/system/sandrun-vm.service" <<'UNIT'
[Unit]
Description=Run the command the host put in the control share, then power off
After=local-fs.target systemd-user-sessions.service user@1000.service
[Service]
Type=exec
Delegate=yes
ExecStartPre=/sbin/modprobe -a 9pnet_virtio 9p overlay
ExecStartPre=/bin/mkdir -p /vm/control
ExecStartPre=/bin/mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 control /vm/control
ExecStart=/bin/sh /vm/control/guest.sh
ExecStopPost=/bin/systemctl poweroff --force --force
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/sandrun-vm.service "$root/etc/systemd/system/multi-user.target.wants/sandrun-vm.service"

say "writing the disk image"
cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)" "$out.vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)" "$out.initrd"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
size_mb=$(( $(du -sm "$root" | cut -f1) + 3072 ))
mkfs.ext4 -q -F -L sandrun-vm -d "$root" "$out.ext4" "${size_mb}M"
rm -rf "$root"
say "image ready ($size_mb MB)"
