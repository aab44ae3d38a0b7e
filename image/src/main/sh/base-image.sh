#!/usr/bin/env bash
# Builds the base of the longpo container image without a container runtime or a registry: a Java runtime
# made by jlink from the build's JDK, plus the files of the few Debian packages that runtime and PyTorch's
# native libraries link against (glibc, libgcc, libstdc++, zlib), installed on the build machine. Writes a
# docker-save tarball (manifest.json, config, one reproducible layer) that Jib takes as its base image
# (<from><image>tar://...</image></from>).
#
# usage: base-image.sh OUT.tar
set -euo pipefail
out="$1"
# The modules the project's code needs (jdeps --print-module-deps over its jars) and those its libraries
# load by name at run time: JMX (Kafka's metrics), logging, XML, SASL/GSSAPI, TLS with EC keys, DNS names.
modules="java.base,java.compiler,java.desktop,java.instrument,java.logging,java.management,java.naming,\
java.net.http,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.xml,jdk.attach,\
jdk.crypto.ec,jdk.httpserver,jdk.jdi,jdk.management,jdk.naming.dns,jdk.unsupported,jdk.zipfs"
packages="libc6 libgcc-s1 libstdc++6 zlib1g"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"
# The host's merged-/usr links (lib -> usr/lib, ...) so package paths land where the loader looks.
for d in bin lib lib64 sbin; do
  if [ -L "/$d" ]; then
    mkdir -p "$root/$(readlink "/$d")"
    ln -s "$(readlink "/$d")" "$root/$d"
  fi
done
jlink_bin="${JAVA_HOME:+$JAVA_HOME/bin/}jlink"
"$jlink_bin" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$root/opt/java"
# Debian's JDK links its CA certificates and security policy files to /etc: keep their contents instead.
find "$root/opt/java" -type l | while read -r link; do
  target="$(readlink -f "$link")"
  rm "$link"
  cp "$target" "$link"
done
for p in $packages; do
  dpkg -L "$p" | while read -r f; do
    case "$f" in
      /usr/share/doc*|/usr/share/lintian*|/usr/share/man*|/usr/share/locale*|/usr/share/gcc*|/usr/share/gdb*) continue ;;
    esac
    if { [ -f "$f" ] || [ -L "$f" ]; } && [ ! -d "$f" ]; then
      mkdir -p "$root$(dirname "$f")"
      cp -dp "$f" "$root$f"
    fi
  done
done
mkdir -p "$root/etc" "$root/tmp" "$root/app" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nlongpo:x:1000:1000:longpo:/tmp:/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nlongpo:x:1000:\n' > "$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"

layer="$work/layer.tar"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf "$layer" .
diff_id="sha256:$(sha256sum "$layer" | cut -d' ' -f1)"
versions="$(for p in $packages; do dpkg-query -W -f='${Package}=${Version} ' "$p"; done)"
java_version="$("$root/opt/java/bin/java" -version 2>&1 | head -1 | tr -d '"')"
cat > "$work/config.json" <<EOF
{"architecture":"amd64","os":"linux",
 "config":{"Env":["PATH=/opt/java/bin:/usr/bin:/bin","JAVA_HOME=/opt/java"],"User":"1000:1000","WorkingDir":"/app"},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created_by":"image/src/main/sh/base-image.sh: jlink runtime ($java_version) and Debian $versions"}]}
EOF
printf '[{"Config":"config.json","RepoTags":["longpo-base:local"],"Layers":["layer.tar"]}]\n' > "$work/manifest.json"
mkdir -p "$(dirname "$out")"
tar --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out" manifest.json config.json layer.tar
echo "base image $out: $(du -h "$layer" | cut -f1) layer, $java_version, $versions"
