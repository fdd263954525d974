#!/usr/bin/env bash
# Build a local base image (Debian minbase + python3 + python3-venv) with debootstrap,
# for machines where the official python image cannot be pulled.
#
#   probes/docker/build-base.sh [--force] [--include PKG,PKG...] [--python X.Y] SUITE [TAG]
#
# SUITE: bookworm (Python 3.11), trixie (3.13), forky or sid (3.14).
# --python X.Y: a Python the suite packages beside its default (sid: 3.15), installed as
# pythonX.Y and pythonX.Y-venv and made the image's python3 (/usr/local/bin/python3).
# TAG defaults to asgi-matrix-base:SUITE. An existing TAG is kept unless --force.
# --include adds Debian packages (system libraries a server needs, e.g. libuv1): probe
# images are built with --network none and the base keeps no apt lists, so what a
# server needs from the system must be in its base. They are recorded as the label
# asgi-matrix.system (comma-separated).
# Needs root (debootstrap); installs debootstrap with apt-get when it is missing.
# Environment: ASGI_MATRIX_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

usage() {
    echo "usage: $0 [--force] [--include PKG,PKG...] [--python X.Y] SUITE [TAG]" >&2
    exit 2
}

force=0
extra=""
python=""
args=()
want_include=0
want_python=0
for a in "$@"; do
    if [ "$want_include" -eq 1 ]; then
        extra="$a"
        want_include=0
        continue
    fi
    if [ "$want_python" -eq 1 ]; then
        python="$a"
        want_python=0
        continue
    fi
    case "$a" in
        --force) force=1 ;;
        --include) want_include=1 ;;
        --include=*) extra="${a#--include=}" ;;
        --python) want_python=1 ;;
        --python=*) python="${a#--python=}" ;;
        -h|--help) usage ;;
        -*) echo "unknown option: $a" >&2; usage ;;
        *) args+=("$a") ;;
    esac
done
[ "$want_include" -eq 0 ] && [ "$want_python" -eq 0 ] || usage
case "$python" in
    ""|[0-9].[0-9]|[0-9].[0-9][0-9]) ;;
    *) echo "build-base: --python takes a version such as 3.15" >&2; exit 2 ;;
esac
[ "${#args[@]}" -ge 1 ] && [ "${#args[@]}" -le 2 ] || usage
case "$extra" in
    *[!a-z0-9+.,-]*) echo "build-base: --include takes Debian package names, comma-separated" >&2; exit 2 ;;
esac
include="python3,python3-venv,ca-certificates${python:+,python$python,python$python-venv}${extra:+,$extra}"
suite="${args[0]}"
tag="${args[1]:-asgi-matrix-base:$suite}"
mirror="${ASGI_MATRIX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "$force" -eq 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "build-base: $tag exists; skipping (use --force to rebuild)"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "build-base: debootstrap needs root" >&2
    exit 1
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "build-base: installing debootstrap"
    # Two builds of different bases at once would collide on apt's lock: take turns.
    (
        flock 9
        command -v debootstrap >/dev/null 2>&1 || {
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
        }
    ) 9>/var/lock/asgi-matrix-apt.lock
fi

# Suites newer than this debootstrap knows use the sid script (forky has none here).
script=()
case "$suite" in
    sid|unstable|forky|testing)
        script=(/usr/share/debootstrap/scripts/sid) ;;
    *)
        if [ ! -e "/usr/share/debootstrap/scripts/$suite" ]; then
            script=(/usr/share/debootstrap/scripts/sid)
        fi ;;
esac

work="$(mktemp -d /tmp/asgi-matrix-base.XXXXXX)"
rootfs="$work/rootfs"
cleanup() {
    # debootstrap may leave /proc or /sys mounted inside the rootfs after a failure.
    for m in proc sys dev/pts dev; do
        mountpoint -q "$rootfs/$m" 2>/dev/null && umount -l "$rootfs/$m" || true
    done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

start=$(date +%s)
echo "build-base: debootstrap $suite (+ ${extra:-nothing else}) -> $rootfs (log: $work/debootstrap.log)"
if ! debootstrap --variant=minbase --include="$include" \
        "$suite" "$rootfs" "$mirror" "${script[@]}" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    echo "build-base: debootstrap of $suite failed" >&2
    exit 1
fi

# The image's python3 is the one asked for (PATH has /usr/local/bin before /usr/bin).
py=/usr/bin/python3
if [ -n "$python" ]; then
    ln -sf "/usr/bin/python$python" "$rootfs/usr/local/bin/python3"
    py="/usr/bin/python$python"
fi

# Facts about the base, recorded as labels (the runner reads asgi-matrix.glibc).
py_version="$(chroot "$rootfs" "$py" -c 'import platform; print(platform.python_version())')"
glibc="$(chroot "$rootfs" "$py" -c 'import platform; print(platform.libc_ver()[1])')"
echo "build-base: $suite has Python $py_version, glibc $glibc"

# Slim: package lists and caches, docs, man pages, locales; keep dpkg from putting them back.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian "$rootfs"/var/log/*.log \
    "$rootfs"/var/log/apt/* "$rootfs"/debootstrap
find "$rootfs" -xdev -name '__pycache__' -type d -prune -exec rm -rf {} +
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/asgi-matrix-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
# The image has its own resolver settings from Docker at run time.
: >"$rootfs/etc/resolv.conf"

system_label=()
[ -z "$extra" ] || system_label=(--change "LABEL asgi-matrix.system=$extra")
tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL asgi-matrix=1' \
    --change "LABEL asgi-matrix.suite=$suite" \
    --change "LABEL asgi-matrix.python=$py_version" \
    --change "LABEL asgi-matrix.glibc=$glibc" \
    "${system_label[@]}" \
    --change 'CMD ["python3"]' \
    --message "asgi-matrix base: debootstrap minbase $suite" \
    - "$tag" >/dev/null

size="$(docker image inspect --format '{{.Size}}' "$tag")"
echo "build-base: built $tag (Python $py_version, glibc $glibc, $((size / 1000000)) MB) in $(( $(date +%s) - start )) s"
