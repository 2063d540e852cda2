#!/bin/sh
# Role "keys": create the SSH keys once in the shared volume (/keys): the host key of supervisor-host,
# the client key Airflow uses, and a known_hosts that pins the host key.
# Role "sshd" (default): run sshd with that host key, accepting only that client key.
set -eu
if [ "${1:-sshd}" = "keys" ]; then
    cd /keys
    [ -f host_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -C supervisor-host -f host_ed25519
    [ -f id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -C airflow -f id_ed25519
    echo "supervisor-host $(cut -d' ' -f1,2 host_ed25519.pub)" > known_hosts
    chmod 0644 id_ed25519.pub known_hosts host_ed25519.pub
    chown 50000:0 id_ed25519  # the airflow user of the official image reads its private key
    chmod 0600 id_ed25519
    exit 0
fi
install -d -m 0700 -o supervisor /home/supervisor/.ssh
install -m 0600 -o supervisor /keys/id_ed25519.pub /home/supervisor/.ssh/authorized_keys
exec /usr/sbin/sshd -D -e \
    -o HostKey=/keys/host_ed25519 \
    -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no -o PermitRootLogin=no \
    -o AllowUsers=supervisor -o AllowStreamLocalForwarding=yes -o AllowTcpForwarding=no \
    -o X11Forwarding=no
