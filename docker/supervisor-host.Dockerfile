# A remote host for supervised jobs: sshd and supervisor, nothing listening but sshd.
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-server openssh-client procps \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "supervisor>=4.2" \
    && useradd --create-home --shell /bin/bash supervisor \
    && mkdir -p /run/sshd

COPY docker/supervisor-host-entrypoint.sh /usr/local/bin/entrypoint.sh
EXPOSE 22
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
