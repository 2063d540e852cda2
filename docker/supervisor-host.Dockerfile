# supervisor-host: a remote host for supervised jobs. It runs sshd and nothing else; supervisord is
# installed and is started over SSH by Airflow tasks (examples/remote_dag.py). Build context: repo root.
#
# The image carries no keys: the host key and authorized_keys are put in the `supervisor-host-keys`
# volume by the one-shot `ssh-keys` service (this image with the `keys` command).
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-server \
    && rm -rf /var/lib/apt/lists/* \
    # the package generated host keys at build time: drop them, supervisor-host uses the pinned one
    && rm -f /etc/ssh/ssh_host_* \
    && pip install --no-cache-dir "supervisor>=4.2" \
    # key login only; '*' (not a locked '!') lets sshd accept public-key logins for this user
    && useradd --create-home --shell /bin/bash supervisor \
    && usermod --password '*' supervisor \
    && mkdir -p /run/sshd

COPY docker/supervisor-host-sshd.conf /etc/ssh/sshd_config.d/supervisor-host.conf
COPY --chmod=0755 docker/supervisor-host-entrypoint.sh /usr/local/bin/supervisor-host-entrypoint

EXPOSE 22
ENTRYPOINT ["/usr/local/bin/supervisor-host-entrypoint"]
CMD ["sshd"]
