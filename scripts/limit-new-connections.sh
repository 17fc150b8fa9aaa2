#!/usr/bin/env bash
# Caps how fast one address may open new TCP connections to a port, in the kernel (nftables),
# before they reach the service's accept queue.
#
# Why: a flood of new connections from many addresses fills the listening socket's accept queue
# faster than any process can take them off it; the kernel then drops every SYN, an honest
# client's included, and each dropped SYN costs that client a 1-second resend. The service's own
# per-address caps (429) act only on connections it has accepted. This rule drops the excess SYNs
# of an address (IPv4 by address, IPv6 by /64) before they take a place in the queue; the honest
# clients' SYNs keep theirs. Measured in docs/BENCHMARKS.md ("kernel limit on new connections").
#
# Usage (root):
#   scripts/limit-new-connections.sh <port> [per-second (default 5)] [burst (default 20)]
#   scripts/limit-new-connections.sh <port> --remove
# The rules live in their own nftables table, `sandrun_<port>`, replaced on each run; they do not
# survive a reboot (put the same commands in /etc/nftables.conf for that).
set -euo pipefail

usage() {
  echo "usage: $0 <port> [per-second] [burst] | $0 <port> --remove" >&2
  exit 2
}

port=${1:-}
[[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || usage
table="sandrun_${port}"
command -v nft >/dev/null || {
  echo "$0: nft not found; install it with: apt-get install -y nftables" >&2
  exit 1
}

if [[ ${2:-} != --remove ]]; then
  rate=${2:-5}
  burst=${3:-20}
  [[ $rate =~ ^[0-9]+$ && $burst =~ ^[0-9]+$ ]] && ((rate > 0 && burst > 0)) || usage
fi

# Replaced whole on every run: delete the previous table if there is one.
if nft list table inet "$table" >/dev/null 2>&1; then nft delete table inet "$table"; fi
if [[ ${2:-} == --remove ]]; then
  echo "removed the new-connection limit on port $port"
  exit 0
fi

nft -f - <<EOF
table inet $table {
  chain input {
    type filter hook input priority filter; policy accept;
    tcp dport $port ct state new meter ${table}_v4 { ip saddr limit rate over $rate/second burst $burst packets } drop
    tcp dport $port ct state new meter ${table}_v6 { ip6 saddr and ffff:ffff:ffff:ffff:: limit rate over $rate/second burst $burst packets } drop
  }
}
EOF
echo "new connections to port $port: at most $rate/s per address (IPv6: per /64), bursts of $burst; remove with: $0 $port --remove"
