# Finds a JDK 21 or newer and prints its home. Sourced by ./mvnw and ./countersign.
# Order: $JAVA_HOME, the java on PATH, then the newest JDK under the usual install folders.
countersign_jdk_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p'
}
countersign_find_jdk() {
  local candidates=() home best="" best_major=0 major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v javac >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
  fi
  for home in /usr/lib/jvm/* /opt/java/* /opt/*jdk* "$HOME"/.sdkman/candidates/java/*; do
    [ -d "$home" ] && candidates+=("$home")
  done
  for home in "${candidates[@]}"; do
    [ -x "$home/bin/javac" ] || continue
    major="$(countersign_jdk_major "$home")"
    if [ -n "$major" ] && [ "$major" -ge 21 ] && [ "$major" -gt "$best_major" ]; then
      best="$home"; best_major="$major"
    fi
  done
  if [ -z "$best" ]; then
    echo "countersign: no JDK 21 or newer found (looked at JAVA_HOME, PATH and /usr/lib/jvm)." >&2
    echo "  Install one (e.g. 'apt-get install openjdk-21-jdk-headless') or set JAVA_HOME." >&2
    return 1
  fi
  printf '%s\n' "$best"
}
# JVM flags for the chosen JDK: on 23+, let protobuf and Maven's Guice keep using sun.misc.Unsafe
# quietly (they still work; the JDK only warns).
countersign_jvm_flags() {
  local major; major="$(countersign_jdk_major "$1")"
  # sqlite-jdbc loads its native library: say so, so that 22+ does not warn at every start.
  printf '%s\n' "--enable-native-access=ALL-UNNAMED"
  if [ -n "$major" ] && [ "$major" -ge 23 ]; then printf '%s\n' "--sun-misc-unsafe-memory-access=allow"; fi
}
