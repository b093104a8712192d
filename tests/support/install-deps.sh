#!/bin/sh
# install-deps.sh - install the Debian 12 packages vhostmail builds, tests and demos with.
#   tests/support/install-deps.sh [more packages...]   (benches name what they compare against)
# Idempotent: does nothing (and needs no network) when everything is present.
# Never starts a system service: a temporary policy-rc.d forbids it while apt runs.
set -eu

packages="cmake g++ make pkg-config python3 libfmt-dev nlohmann-json3-dev libmariadb-dev libssl-dev libcrypt-dev
  catch2 mariadb-server mariadb-client postfix postfix-mysql clang libclang-rt-14-dev
  sasl2-bin libsasl2-modules dovecot-core dovecot-mysql systemd
  debhelper dpkg-dev lintian mmdebstrap systemd-container
  libmilter-dev miltertest opendkim opendkim-tools python3-dkim python3-nacl prometheus postsrsd $*"

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi

echo "install-deps: installing$missing" >&2
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
fi
cleanup() { [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d; return 0; }
trap cleanup EXIT

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing </dev/null
# The tests need promtool from the prometheus package, not a Prometheus server that starts at
# the next boot; postsrsd is started privately by the SRS tests, never as the system's.
for service in prometheus postsrsd; do
    case " $missing " in
    *" $service "*) systemctl disable "$service.service" >/dev/null 2>&1 || true ;;
    esac
done
