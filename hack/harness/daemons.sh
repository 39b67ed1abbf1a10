# Sourced by hack/harness.sh: the BuildKit daemons and the registry (up, down, noemu-up, noemu-down). It uses the settings and helpers
# harness.sh defines before sourcing it.
# shellcheck shell=bash disable=SC2034,SC2154

# ---------------------------------------------------------------------------
# daemon NAME LOGFILE CMD...: start CMD in its own session, detached from this
# script (it keeps running after the script exits); its pid goes to RUN_DIR/NAME.pid.
daemon() {
	local name=$1 logf=$2; shift 2
	mkdir -p "$RUN_DIR" "$(dirname "$logf")"
	# fd 9 is closed: it may be $BINFMT_LOCK (noemu-up), which the daemon must not keep.
	setsid bash -c 'trap "" HUP; echo $$ >"$1"; shift; exec "$@"' _ "$RUN_DIR/$name.pid" "$@" \
		</dev/null >>"$logf" 2>&1 9>&- &
	disown || true
}

pid_alive() { # pid_alive NAME BINARY
	local pid
	pid=$(cat "$RUN_DIR/$1.pid" 2>/dev/null) || return 1
	[[ -n $pid && "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$(realpath "$2")" ]]
}

# start_buildkitd NAME ADDR ROOT [ARG...]: start a buildkitd (pid file
# RUN_DIR/NAME.pid, log LOGS/NAME.log) and wait until it answers on ADDR.
start_buildkitd() {
	local name=$1 addr=$2 root=$3 i
	shift 3
	rm -f "${addr#unix://}"
	mkdir -p "$root"
	log "starting buildkitd $BUILDKIT_VERSION ($name) on $addr (log: $LOGS/$name.log)"
	daemon "$name" "$LOGS/$name.log" "$BUILDKITD" --root "$root" --addr "$addr" \
		--oci-worker=true --containerd-worker=false "$@"
	for ((i = 0; i < 240; i++)); do
		buildkit_ok "$addr" && return 0
		pid_alive "$name" "$BUILDKITD" || { tail -n 20 "$LOGS/$name.log" >&2; die "$name exited"; }
		sleep 0.25
	done
	tail -n 20 "$LOGS/$name.log" >&2
	die "$name not ready after 60s"
}

# stop_daemon NAME BINARY: stop the daemon of RUN_DIR/NAME.pid, if it runs.
stop_daemon() {
	local name=$1 bin=$2 pid i
	if pid_alive "$name" "$bin"; then
		pid=$(cat "$RUN_DIR/$name.pid")
		log "stopping $name (pid $pid)"
		kill "$pid"
		for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	rm -f "$RUN_DIR/$name.pid"
}

# worker_platforms ADDR: the platforms the daemon's workers list, one a line.
worker_platforms() {
	timeout 10 "$BUILDCTL" --addr "$1" debug workers -v 2>/dev/null |
		sed -n 's/^Platforms:[[:space:]]*//p' | tr ',' '\n'
}
lists_arm64() { worker_platforms "$1" | grep -Ex 'linux/arm64(/v8)?' >/dev/null; }

# active_builds ADDR: how many builds the daemon is running.
active_builds() {
	timeout 10 "$BUILDCTL" --addr "$1" debug histories \
		--format '{{if .Record.CompletedAt}}done{{else}}running{{end}}' 2>/dev/null | grep -c '^running' || true
}

# check_emulation HOST: the main daemon lists linux/arm64 whenever the
# qemu-aarch64 binfmt entry is enabled. buildkitd detects emulators when it
# starts and, when asked for its workers, rescans at most every 20 s (its
# platformsCacheMaxAge); one that still lacks linux/arm64 after that (an
# older or differently configured daemon started before qemu-user-static was
# registered) is restarted, once no build runs on it.
check_emulation() {
	local host=$1 i n
	[[ $HOST_ARCH == amd64 ]] && binfmt_ok || return 0
	lists_arm64 "$host" && return 0
	log "buildkitd on $host does not list linux/arm64 though qemu-aarch64 is enabled; waiting 21s for its platform rescan ..."
	sleep 21
	lists_arm64 "$host" && return 0
	if [[ $host != "$BUILDKIT_ADDR" ]] || ! pid_alive buildkitd "$BUILDKITD"; then
		log "WARNING: $host is not this harness's buildkitd and lacks linux/arm64: restart it to get arm64 emulation"
		return 0
	fi
	log "buildkitd on $host was started before qemu-aarch64 was registered: RESTARTING it to get linux/arm64 (its cache stays)"
	for ((i = 0; i < 300; i++)); do
		n=$(active_builds "$host")
		((n == 0)) && break
		((i % 15 == 0)) && log "waiting for $n running build(s) on $host to finish before the restart ..."
		sleep 2
	done
	((n == 0)) || die "builds keep running on $host; restart it when it is idle: $0 down && $0 up"
	stop_daemon buildkitd "$BUILDKITD"
	start_buildkitd buildkitd "$host" "$COPA_CACHE/buildkit"
	lists_arm64 "$host" || die "buildkitd on $host lacks linux/arm64 even after a restart ($(worker_platforms "$host" | tr '\n' ' '))"
	log "buildkitd on $host restarted; it lists linux/arm64"
}

# ensure_builder NAME HOST: a buildx builder NAME (remote driver) pointing at
# HOST; the first one made becomes the current builder.
ensure_builder() {
	local name=$1 host=$2 use=()
	if ! buildx inspect "$name" 2>/dev/null | grep -qE "^Endpoint: +$host\$"; then
		buildx rm "$name" >/dev/null 2>&1 || true
		[[ -s $DOCKER_CONFIG_DIR/buildx/current ]] || use=(--use)
		log "creating buildx builder $name -> $host ${use[*]}"
		run "$LOGS/buildx-create-$name.log" docker buildx create --name "$name" --driver remote "${use[@]}" "$host"
	fi
	run "$LOGS/buildx-inspect-$name.log" docker buildx inspect --builder "$name" --bootstrap
}

cmd_up() {
	need_tools
	mkdir -p "$RUN_DIR" "$LOGS"
	local host i
	if [[ -n ${BUILDKIT_HOST:-} && $BUILDKIT_HOST != "$BUILDKIT_ADDR" ]] && buildkit_ok "$BUILDKIT_HOST"; then
		log "using BUILDKIT_HOST=$BUILDKIT_HOST"
		host=$BUILDKIT_HOST
	else
		host=$BUILDKIT_ADDR
		if ! buildkit_ok "$host"; then
			pid_alive buildkitd "$BUILDKITD" && die "buildkitd (pid $(cat "$RUN_DIR/buildkitd.pid")) runs but does not answer on $host; try '$0 down'"
			start_buildkitd buildkitd "$host" "$COPA_CACHE/buildkit"
		fi
	fi
	echo "$host" >"$RUN_DIR/buildkit-host"
	check_emulation "$host"

	if ! registry_ok; then
		mkdir -p "$COPA_CACHE/registry"
		cat >"$COPA_CACHE/registry.yml" <<-EOF
			version: 0.1
			log:
			  level: warn
			  accesslog:
			    disabled: true
			storage:
			  filesystem:
			    rootdirectory: $COPA_CACHE/registry
			  delete:
			    enabled: true
			http:
			  addr: $REGISTRY_LISTEN
			  secret: copa-frontend-local-registry
		EOF
		log "starting registry $DISTRIBUTION_VERSION on $REGISTRY_LISTEN (data: $COPA_CACHE/registry)"
		OTEL_TRACES_EXPORTER=none daemon registry "$LOGS/registry.log" "$REGISTRY_BIN" serve "$COPA_CACHE/registry.yml"
		for ((i = 0; i < 30; i++)); do
			registry_ok && break
			pid_alive registry "$REGISTRY_BIN" || { tail -n 20 "$LOGS/registry.log" >&2; die "registry exited"; }
			sleep 0.5
		done
		registry_ok || die "registry not ready (log: $LOGS/registry.log)"
	fi

	ensure_builder "$BUILDER" "$host"
	rpm_repo_up
	authmirror_up
	log "up: buildkit $host, registry $REGISTRY, builder $BUILDER, rpm repository $RPM_REPO_URL, private mirror http://$AUTH_LISTEN"
}

need_up() {
	need_tools
	if ! registry_ok || ! buildkit_ok "$(buildkit_host)" || ! buildx inspect "$BUILDER" >/dev/null 2>&1 || ! rpm_repo_ok || ! authmirror_ok; then
		cmd_up
	fi
}

cmd_down() {
	stop_daemon "$NOEMU_NAME" "$BUILDKITD"
	stop_daemon buildkitd "$BUILDKITD"
	stop_daemon registry "$REGISTRY_BIN"
	rpm_repo_down
	authmirror_down
	rm -f "$RUN_DIR/buildkit-host"
}

# ---------------------------------------------------------------------------
# The second buildkitd, without arm64 emulation (see the header). Its
# platformsCacheMaxAge is negative: it never rescans, so re-enabling
# qemu-aarch64 right after it started does not give it linux/arm64 later.
cmd_noemu_up() {
	need_tools
	[[ $HOST_ARCH == amd64 ]] || die "noemu-up needs an amd64 host (it leaves linux/arm64 out)"
	mkdir -p "$RUN_DIR" "$LOGS"
	if buildkit_ok "$NOEMU_ADDR" && lists_arm64 "$NOEMU_ADDR"; then
		pid_alive "$NOEMU_NAME" "$BUILDKITD" || die "$NOEMU_ADDR lists linux/arm64 and is not this harness's daemon"
		log "$NOEMU_NAME lists linux/arm64 (started another way): restarting it"
		stop_daemon "$NOEMU_NAME" "$BUILDKITD"
	fi
	if ! buildkit_ok "$NOEMU_ADDR"; then
		pid_alive "$NOEMU_NAME" "$BUILDKITD" && die "$NOEMU_NAME (pid $(cat "$RUN_DIR/$NOEMU_NAME.pid")) runs but does not answer on $NOEMU_ADDR; try '$0 noemu-down'"
		binfmt_ok || ensure_binfmt
		cat >"$NOEMU_CONFIG" <<-EOF
			# $NOEMU_NAME (hack/harness.sh noemu-up): never rescan for emulators.
			[system]
			  platformsCacheMaxAge = "-1s"
		EOF
		# qemu-aarch64 is off host-wide while the daemon starts (well under a
		# second) and back on when this subshell ends, however it ends.
		(
			flock -w 120 9 || die "could not lock $BINFMT_LOCK"
			trap 'echo 1 >"$BINFMT_AARCH64"' EXIT
			trap 'exit 1' INT TERM HUP
			log "disabling qemu-aarch64 while $NOEMU_NAME starts"
			echo 0 >"$BINFMT_AARCH64"
			start_buildkitd "$NOEMU_NAME" "$NOEMU_ADDR" "$NOEMU_ROOT" --config "$NOEMU_CONFIG"
		) 9>"$BINFMT_LOCK"
		binfmt_ok || die "qemu-aarch64 was not re-enabled"
		log "qemu-aarch64 re-enabled"
	fi
	if lists_arm64 "$NOEMU_ADDR"; then
		die "$NOEMU_NAME lists linux/arm64: $(worker_platforms "$NOEMU_ADDR" | tr '\n' ' ')"
	fi
	if buildkit_ok "$(buildkit_host)" && ! lists_arm64 "$(buildkit_host)"; then
		log "WARNING: the main buildkitd $(buildkit_host) does not list linux/arm64"
	fi
	ensure_builder "$NOEMU_BUILDER" "$NOEMU_ADDR"
	log "noemu: buildkit $NOEMU_ADDR ($(worker_platforms "$NOEMU_ADDR" | paste -sd, -)), builder $NOEMU_BUILDER"
}

cmd_noemu_down() {
	stop_daemon "$NOEMU_NAME" "$BUILDKITD"
	rm -f "${NOEMU_ADDR#unix://}"
}
