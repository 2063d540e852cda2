#!/bin/sh
# Entrypoint of the supervisor-host image.
#
#   sshd (default)  run sshd in the foreground (the `supervisor-host` service)
#   keys            one-shot (the `ssh-keys` service): put the SSH keys in place, then exit
#
# keys: the client key Airflow logs in with and supervisor-host's host key are taken from $KEYS_IN
# (docker/ssh/ of the repository) when you put them there (see docker/ssh/README), otherwise they are
# generated once and kept in the volumes. Then it writes
#   $AIRFLOW_SSH/   id_ed25519 (owned by the Airflow user), id_ed25519.pub, and known_hosts pinning
#                   the host key as `supervisor-host`       -> /home/airflow/.ssh in Airflow, read-only
#   $HOST_KEYS/     ssh_host_ed25519_key(.pub) and authorized_keys for the client key
#                                                           -> /etc/ssh/keys in supervisor-host, read-only
set -eu

KEYS_IN=${KEYS_IN:-/in}
AIRFLOW_SSH=${AIRFLOW_SSH:-/airflow-ssh}
HOST_KEYS=${HOST_KEYS:-/host-keys}
AIRFLOW_UID=${AIRFLOW_UID:-50000}
SSH_HOST_NAME=${SSH_HOST_NAME:-supervisor-host}

# place_key SOURCE TARGET COMMENT: copy SOURCE if it exists, else keep TARGET, else generate it.
place_key() {
    if [ -f "$1" ]; then
        install -m 0600 "$1" "$2"
        ssh-keygen -y -P '' -f "$2" > "$2.pub"
        echo "ssh-keys: $2 from $1"
    elif [ ! -f "$2" ]; then
        ssh-keygen -q -t ed25519 -N '' -C "$3" -f "$2"
        echo "ssh-keys: $2 generated"
    fi
}

keys() {
    umask 022
    mkdir -p "$AIRFLOW_SSH" "$HOST_KEYS"
    place_key "$KEYS_IN/id_ed25519" "$AIRFLOW_SSH/id_ed25519" airflow
    place_key "$KEYS_IN/ssh_host_ed25519_key" "$HOST_KEYS/ssh_host_ed25519_key" "$SSH_HOST_NAME"
    # restrict: no pty, no agent/X11 forwarding; port-forwarding: the unix-socket channel to supervisord
    echo "restrict,port-forwarding $(cut -d' ' -f1,2 "$AIRFLOW_SSH/id_ed25519.pub") airflow" > "$HOST_KEYS/authorized_keys"
    echo "$SSH_HOST_NAME $(cut -d' ' -f1,2 "$HOST_KEYS/ssh_host_ed25519_key.pub")" > "$AIRFLOW_SSH/known_hosts"
    chown -R 0:0 "$HOST_KEYS"
    chmod 0755 "$HOST_KEYS"
    chmod 0600 "$HOST_KEYS/ssh_host_ed25519_key"
    chmod 0644 "$HOST_KEYS/ssh_host_ed25519_key.pub" "$HOST_KEYS/authorized_keys"
    chown -R "$AIRFLOW_UID:0" "$AIRFLOW_SSH"
    chmod 0700 "$AIRFLOW_SSH"
    chmod 0600 "$AIRFLOW_SSH/id_ed25519"
    chmod 0644 "$AIRFLOW_SSH/id_ed25519.pub" "$AIRFLOW_SSH/known_hosts"
    echo "ssh-keys: host key of $SSH_HOST_NAME pinned: $(ssh-keygen -l -f "$HOST_KEYS/ssh_host_ed25519_key.pub")"
}

case "${1:-sshd}" in
    keys)
        keys
        ;;
    sshd)
        mkdir -p /run/sshd
        exec /usr/sbin/sshd -D -e
        ;;
    *)
        exec "$@"
        ;;
esac
