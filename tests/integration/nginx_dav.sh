# SPDX-License-Identifier: Apache-2.0
# nginx_dav.sh - the audit storage and trust repository the fleet tests run
# against: Debian's nginx on 127.0.0.1 with TLS (a test CA made here with
# openssl) serving $PWD/www/repo and taking the desks' batches under /audit/
# with its WebDAV module, as docs/audit-upload.md sets it up.  Source it after
# checks.sh (wait_for, free_port), from the test's own folder.
#   test_ca                       ca.pem/ca.key, server.crt/server.key for 127.0.0.1
#   nginx_start [DIRECTIVES]      start; DIRECTIVES go in the server block (e.g.
#                                 ssl_verify_client); sets nginx_port, nginx_pid
#   nginx_stop                    stop it (the cleanup trap should call it too)
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
nginx_pid=
nginx_port=

test_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=qrdesk test ca" -keyout ca.key -out ca.pem 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
		-keyout server.key -out server.csr 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
		-extfile server.ext -out server.crt 2>/dev/null
}

nginx_start() {
	if [[ ! -x $nginx_bin ]]; then
		echo "FAIL: nginx not installed (scripts/install-deps.sh installs nginx-light)" >&2
		return 1
	fi
	[[ -n $nginx_port ]] || nginx_port=$(free_port)
	mkdir -p www/repo www/audit logs tmp
	local user_line=
	[[ $(id -u) -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
	cat >nginx.conf <<NGINX
$user_line
worker_processes 1;
daemon off;
pid $PWD/nginx.pid;
error_log $PWD/logs/error.log;
events { worker_connections 64; }
http {
	access_log $PWD/logs/access.log;
	client_body_temp_path $PWD/tmp/body;
	proxy_temp_path $PWD/tmp/proxy;
	fastcgi_temp_path $PWD/tmp/fastcgi;
	uwsgi_temp_path $PWD/tmp/uwsgi;
	scgi_temp_path $PWD/tmp/scgi;
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:$nginx_port ssl;
		ssl_certificate $PWD/server.crt;
		ssl_certificate_key $PWD/server.key;
		${1:-}
		root $PWD/www;
		location /audit/ {
			dav_methods PUT;
			create_full_put_path on;
			client_max_body_size 8m;
		}
	}
}
NGINX
	"$nginx_bin" -p "$PWD" -c "$PWD/nginx.conf" -e "$PWD/logs/error.log" &
	nginx_pid=$!
	# Any answer over TLS (a 403, or a 400 for a missing client certificate) means it listens.
	if ! wait_for 30 'curl -s --cacert ca.pem -o /dev/null "https://127.0.0.1:$nginx_port/"'; then
		echo "FAIL: nginx did not start" >&2
		cat logs/error.log >&2
		return 1
	fi
}

nginx_stop() {
	[[ -n $nginx_pid ]] || return 0
	kill "$nginx_pid" 2>/dev/null
	wait "$nginx_pid" 2>/dev/null
	nginx_pid=
}
