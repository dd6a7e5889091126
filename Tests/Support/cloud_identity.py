#!/usr/bin/env python3
"""Plays the cloud identity and secret endpoints that cannot run here, as their documentation
describes them, on one loopback port (prints "PORT <n>"):

  AWS    container credentials endpoint  GET  /aws/credentials            (Authorization: the token)
         EC2 instance metadata, IMDSv2   PUT  /latest/api/token, GET /latest/meta-data/iam/security-credentials/[ROLE]
  Google metadata server token           GET  /computeMetadata/v1/instance/service-accounts/default/token (Metadata-Flavor: Google)
         OAuth 2 token endpoint          POST /token  (jwt-bearer: the RS256 JWT verified with `cryptography`; refresh_token)
         Secret Manager access           GET  /v1/projects/P/secrets/S/versions/V:access
  Azure  instance metadata token         GET  /metadata/identity/oauth2/token (Metadata: true)
         App Service identity endpoint   GET  /msi/token (X-IDENTITY-HEADER)
         Entra workload identity         POST /TENANT/oauth2/v2.0/token (client_assertion: the federated token)
         Key Vault Get Secret            GET  /kv/secrets/NAME?api-version=7.4

Configuration: --config FILE, JSON with "gcp_secrets" {resource name: value, or [values served in turn]}, "azure_secrets" {name: value},
"google_public_key" (PEM), "identity_header", "federated_token", "aws_token", "aws_credentials" [objects,
served in turn, the last one repeated], "aws_delay_seconds" (a slow container endpoint). Control: POST /_control/revoke invalidates every token issued so far;
GET /_counts returns the requests per route.
"""
import argparse, base64, http.server, json, socketserver, sys, threading, time, urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

parser = argparse.ArgumentParser()
parser.add_argument("--config", required=True)
config = json.load(open(parser.parse_args().config))
lock = threading.Lock()
counts = {}
issued = set()
aws_served = 0
gcp_served = {}


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else (json.dumps(body) if not isinstance(body, str) else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self, route):
        with lock:
            counts[route] = counts.get(route, 0) + 1

    def token(self, prefix):
        with lock:
            token = f"{prefix}-{len(issued) + 1}"
            issued.add(token)
        return token

    def bearer_ok(self):
        header = self.headers.get("Authorization", "")
        with lock:
            return header.startswith("Bearer ") and header[7:] in issued

    def aws_credentials(self):
        global aws_served
        with lock:
            served = config["aws_credentials"][min(aws_served, len(config["aws_credentials"]) - 1)]
            aws_served += 1
        return served

    def form(self):
        length = int(self.headers.get("Content-Length", "0"))
        return dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))

    def do_PUT(self):
        if self.path == "/latest/api/token":
            self.count("imds-token")
            ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit():
                return self.reply(400, "missing or invalid TTL", "text/plain")
            return self.reply(200, self.token("imds"), "text/plain")
        self.reply(404, {})

    def do_POST(self):
        path = urllib.parse.urlparse(self.path).path
        if path == "/_control/revoke":
            with lock:
                issued.clear()
            return self.reply(200, {})
        if path == "/token":
            self.count("google-token")
            form = self.form()
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") != config.get("refresh_token"):
                    return self.reply(400, {"error": "invalid_grant", "error_description": "Bad refresh token"})
                return self.reply(200, {"access_token": self.token("user"), "expires_in": 3599, "token_type": "Bearer"})
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return self.reply(400, {"error": "unsupported_grant_type"})
            try:
                header64, claims64, signature64 = form["assertion"].split(".")
                header, claims = json.loads(b64url_decode(header64)), json.loads(b64url_decode(claims64))
                key = serialization.load_pem_public_key(config["google_public_key"].encode())
                key.verify(b64url_decode(signature64), f"{header64}.{claims64}".encode(), padding.PKCS1v15(), hashes.SHA256())
            except Exception as error:  # a bad signature, a malformed JWT
                return self.reply(400, {"error": "invalid_grant", "error_description": f"Invalid JWT Signature: {error!r}"})
            now = time.time()
            problems = [f"{name} {claims.get(name)!r}" for name, ok in [
                ("alg", header.get("alg") == "RS256"), ("kid", header.get("kid") == config.get("google_key_id")),
                ("aud", claims.get("aud") == f"http://127.0.0.1:{self.server.server_address[1]}/token"),
                ("iss", claims.get("iss") == config.get("google_client_email")),
                ("scope", claims.get("scope") == "https://www.googleapis.com/auth/cloud-platform"),
                ("iat", abs(claims.get("iat", 0) - now) < 60), ("exp", claims.get("exp", 0) - claims.get("iat", 0) == 3600)] if not ok]
            if problems:
                return self.reply(400, {"error": "invalid_grant", "error_description": "Bad claims: " + ", ".join(problems)})
            return self.reply(200, {"access_token": self.token("sa"), "expires_in": 3599, "token_type": "Bearer"})
        if path.endswith("/oauth2/v2.0/token"):
            self.count("entra-token")
            form = self.form()
            expected = {"client_id": config.get("azure_client_id"), "scope": "https://vault.azure.net/.default",
                        "grant_type": "client_credentials", "client_assertion": config.get("federated_token"),
                        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
            if path != f"/{config.get('azure_tenant_id')}/oauth2/v2.0/token" or any(form.get(k) != v for k, v in expected.items()):
                return self.reply(401, {"error": "invalid_client", "error_description": f"AADSTS700016: bad request {form}"})
            return self.reply(200, {"access_token": self.token("entra"), "expires_in": 3599, "token_type": "Bearer"})
        self.reply(404, {})

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = url.path
        if path == "/_counts":
            with lock:
                return self.reply(200, counts)
        if path == "/aws/credentials":
            self.count("aws-container")
            time.sleep(config.get("aws_delay_seconds", 0))
            if self.headers.get("Authorization") != config.get("aws_token"):
                return self.reply(401, {"message": "bad token"})
            return self.reply(200, self.aws_credentials())
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            self.count("imds-credentials")
            with lock:
                ok = self.headers.get("X-aws-ec2-metadata-token") in issued
            if not ok:
                return self.reply(401, "", "text/plain")
            role = path.rsplit("/", 1)[1]
            if role == "":
                return self.reply(200, "instance-role", "text/plain")
            if role != "instance-role":
                return self.reply(404, "", "text/plain")
            return self.reply(200, dict(self.aws_credentials(), Code="Success", Type="AWS-HMAC"))
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            self.count("gce-token")
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.reply(403, "Missing Metadata-Flavor:Google header.", "text/plain")
            return self.reply(200, {"access_token": self.token("gce"), "expires_in": 3599, "token_type": "Bearer"})
        if path.startswith("/v1/projects/") and path.endswith(":access"):
            self.count("gcp-access")
            if not self.bearer_ok():
                return self.reply(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}})
            name = path[len("/v1/"):-len(":access")]
            value = config.get("gcp_secrets", {}).get(name)
            if isinstance(value, list):  # values in turn, the last one repeating: a secret rotated between reads
                with lock:
                    served = gcp_served[name] = gcp_served.get(name, -1) + 1
                value = value[min(served, len(value) - 1)]
            if value is None:
                return self.reply(404, {"error": {"code": 404, "message": f"Secret [{name}] not found or has no versions.", "status": "NOT_FOUND"}})
            data = value.encode()
            return self.reply(200, {"name": name, "payload": {"data": base64.b64encode(data).decode(), "dataCrc32c": str(crc32c(data))}})
        if path in ("/metadata/identity/oauth2/token", "/msi/token"):
            self.count("azure-imds" if path.startswith("/metadata") else "azure-app-service")
            if query.get("resource") != "https://vault.azure.net":
                return self.reply(400, {"error": "invalid_resource"})
            if path.startswith("/metadata"):
                if self.headers.get("Metadata") != "true" or query.get("api-version") != "2018-02-01":
                    return self.reply(400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
                expires = str(int(time.time()) + 3599)
            else:
                if self.headers.get("X-IDENTITY-HEADER") != config.get("identity_header") or query.get("api-version") != "2019-08-01":
                    return self.reply(401, {"error": "unauthorized"})
                expires = int(time.time()) + 3599
            return self.reply(200, {"access_token": self.token("msi"), "expires_on": expires, "resource": query["resource"], "token_type": "Bearer"})
        if path.startswith("/kv/secrets/"):
            self.count("keyvault")
            if query.get("api-version") != "7.4":
                return self.reply(400, {"error": {"code": "BadParameter", "message": "api-version"}})
            if not self.bearer_ok():
                return self.reply(401, {"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
            name = urllib.parse.unquote(path[len("/kv/secrets/"):])
            value = config.get("azure_secrets", {}).get(name)
            if value is None:
                return self.reply(404, {"error": {"code": "SecretNotFound", "message": f"A secret with (name/id) {name} was not found in this key vault."}})
            return self.reply(200, {"value": value, "id": f"https://vault.vault.azure.net/secrets/{name}/1"})
        self.reply(404, {})

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


server = Server(("127.0.0.1", 0), Handler)
print("PORT", server.server_address[1], flush=True)
server.serve_forever()
