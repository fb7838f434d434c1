#!/usr/bin/env bash
# Installs the real clients and tools the tests drive, from Debian's packages, when they are missing:
#   /usr/bin/aws          the aws cli v2 (awscli)        /usr/bin/python3 with boto3 (python3-boto3)
#   faketime              a shifted clock for "signed 10 minutes ago" (faketime)
#   docker-registry       a real local registry for pull and deploy-hook tests (docker-registry)
# Quiet and instant when all are present. Without root or apt it says exactly what to install.
set -euo pipefail

missing=()
[ -x /usr/bin/aws ] && /usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2\.' || missing+=(awscli)
/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || missing+=(python3-boto3)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: missing ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "ensure-test-tools: installing ${missing[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# The dpkg lock timeout lets this run beside another apt user (ensure-docker.sh) instead of failing.
apt-get -qq -o DPkg::Lock::Timeout=300 update >/dev/null
apt-get -qq -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${missing[@]}" >/dev/null
