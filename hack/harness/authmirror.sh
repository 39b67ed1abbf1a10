# shellcheck shell=bash
# The private mirrors (hack/authmirror): a reverse proxy to the Debian
# archive that demands HTTP basic auth, on plain HTTP and on HTTPS with a
# certificate of a CA of its own; and one to the rpm repository
# ($RPM_REPO_URL) and one to the apk repository (apk-images.sh), on plain
# HTTP, with the same credentials. Its credentials are made once per cache
# ($AUTH_DIR/credentials, "user:password"); its CA is new on every start
# ($AUTH_DIR/ca.pem). Started by `up`, stopped by `down`.

AUTH_LISTEN=127.0.0.1:8090
AUTH_TLS_LISTEN=127.0.0.1:8091
AUTH_DIR=$COPA_CACHE/authmirror
AUTH_BIN=$BIN/authmirror
AUTH_UPSTREAM=${DEBIAN_MIRROR%/debian}
AUTH_RPM_LISTEN=127.0.0.1:8092
AUTH_APK_LISTEN=127.0.0.1:8094

authmirror_ok() {
	[[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$AUTH_LISTEN/debian/")" == 401 && -s $AUTH_DIR/ca.pem &&
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$AUTH_RPM_LISTEN/")" == 401 &&
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$AUTH_APK_LISTEN/")" == 401 ]]
}

authmirror_up() {
	authmirror_ok && return 0
	authmirror_down
	mkdir -p "$AUTH_DIR" "$BIN"
	(cd "$REPO" && go build -trimpath -o "$AUTH_BIN.tmp" ./hack/authmirror) && mv "$AUTH_BIN.tmp" "$AUTH_BIN"
	if [[ ! -s $AUTH_DIR/credentials ]]; then
		# A password no test or log names: tests read it from the file.
		(umask 077 && printf 'copa-mirror:%s\n' "$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)" >"$AUTH_DIR/credentials")
	fi
	rm -f "$AUTH_DIR/ca.pem"
	log "starting the private mirror on http://$AUTH_LISTEN and https://$AUTH_TLS_LISTEN (basic auth, proxying $AUTH_UPSTREAM)"
	daemon authmirror "$LOGS/authmirror.log" "$AUTH_BIN" -listen "$AUTH_LISTEN" -tls "$AUTH_TLS_LISTEN" \
		-upstream "$AUTH_UPSTREAM" -credentials "$AUTH_DIR/credentials" -ca-out "$AUTH_DIR/ca.pem"
	log "starting the private rpm mirror on http://$AUTH_RPM_LISTEN (basic auth, proxying $RPM_REPO_URL)"
	daemon authmirror-rpm "$LOGS/authmirror-rpm.log" "$AUTH_BIN" -listen "$AUTH_RPM_LISTEN" \
		-upstream "${RPM_REPO_URL%/}" -credentials "$AUTH_DIR/credentials"
	log "starting the private apk mirror on http://$AUTH_APK_LISTEN (basic auth, proxying http://$APK_REPO_LISTEN)"
	daemon authmirror-apk "$LOGS/authmirror-apk.log" "$AUTH_BIN" -listen "$AUTH_APK_LISTEN" \
		-upstream "http://$APK_REPO_LISTEN" -credentials "$AUTH_DIR/credentials"
	local i
	for ((i = 0; i < 40; i++)); do
		authmirror_ok && return 0
		pid_alive authmirror "$AUTH_BIN" || { tail -n 20 "$LOGS/authmirror.log" >&2; die "the private mirror exited"; }
		pid_alive authmirror-rpm "$AUTH_BIN" || { tail -n 20 "$LOGS/authmirror-rpm.log" >&2; die "the private rpm mirror exited"; }
		pid_alive authmirror-apk "$AUTH_BIN" || { tail -n 20 "$LOGS/authmirror-apk.log" >&2; die "the private apk mirror exited"; }
		sleep 0.25
	done
	die "the private mirror is not ready (log: $LOGS/authmirror.log)"
}

authmirror_down() {
	stop_daemon authmirror "$AUTH_BIN"
	stop_daemon authmirror-rpm "$AUTH_BIN"
	stop_daemon authmirror-apk "$AUTH_BIN"
}
