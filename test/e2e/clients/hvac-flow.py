"""Drives secrets-sync through hvac (HashiCorp's Python client, Debian's python3-hvac), unchanged.
Prints one JSON object of observations for the vitest test to assert on."""
import json
import sys

import hvac
from hvac import exceptions

url, token = sys.argv[1], sys.argv[2]
c = hvac.Client(url=url, token=token)
out = {"authenticated": c.is_authenticated()}

c.sys.enable_secrets_engine(backend_type="kv", path="hv-kv", options={"version": "2"})
out["mounts"] = sorted(c.sys.list_mounted_secrets_engines()["data"].keys())
kv = c.secrets.kv.v2
kv.create_or_update_secret(path="app/db", secret={"user": "u", "pw": "p1"}, mount_point="hv-kv")
kv.create_or_update_secret(path="app/db", secret={"user": "u", "pw": "p2"}, mount_point="hv-kv", cas=1)
out["read"] = kv.read_secret_version(path="app/db", mount_point="hv-kv")["data"]
out["read_v1"] = kv.read_secret_version(path="app/db", version=1, mount_point="hv-kv")["data"]["data"]
out["list"] = kv.list_secrets(path="app", mount_point="hv-kv")["data"]["keys"]
kv.patch(path="app/db", secret={"extra": "x"}, mount_point="hv-kv")
out["patched"] = kv.read_secret_version(path="app/db", mount_point="hv-kv")["data"]["data"]
kv.update_metadata(path="app/db", max_versions=5, mount_point="hv-kv")
md = kv.read_secret_metadata(path="app/db", mount_point="hv-kv")["data"]
out["metadata"] = {"max_versions": md["max_versions"], "custom_metadata": md["custom_metadata"], "current_version": md["current_version"]}
kv.delete_secret_versions(path="app/db", versions=[3], mount_point="hv-kv")
try:
    kv.read_secret_version(path="app/db", mount_point="hv-kv")
    out["deleted_read"] = "no error"
except exceptions.InvalidPath:
    out["deleted_read"] = "InvalidPath"
kv.undelete_secret_versions(path="app/db", versions=[3], mount_point="hv-kv")
out["undeleted"] = kv.read_secret_version(path="app/db", mount_point="hv-kv")["data"]["data"]
kv.destroy_secret_versions(path="app/db", versions=[1], mount_point="hv-kv")
try:
    kv.create_or_update_secret(path="app/db", secret={"a": "b"}, mount_point="hv-kv", cas=1)
    out["cas_mismatch"] = "no error"
except exceptions.InvalidRequest as e:
    out["cas_mismatch"] = str(e)
try:
    kv.read_secret_version(path="nope", mount_point="hv-kv")
    out["missing"] = "no error"
except exceptions.InvalidPath:
    out["missing"] = "InvalidPath"

c.sys.create_or_update_policy(name="reader", policy='path "hv-kv/data/app/*" { capabilities = ["read"] }')
out["policy"] = c.sys.read_policy(name="reader")["data"]["rules"]
child = c.auth.token.create(policies=["reader"], ttl="1h")["auth"]
out["child_policies"] = sorted(child["policies"])
r = hvac.Client(url=url, token=child["client_token"])
out["child_read"] = r.secrets.kv.v2.read_secret_version(path="app/db", mount_point="hv-kv")["data"]["data"]["user"]
try:
    r.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"x": "y"}, mount_point="hv-kv")
    out["child_write"] = "no error"
except exceptions.Forbidden:
    out["child_write"] = "Forbidden"
out["lookup_self"] = r.auth.token.lookup_self()["data"]["policies"]
c.auth.token.revoke(child["client_token"])
out["revoked_authenticated"] = r.is_authenticated()

# The Secrets Sync API has no hvac helpers (Enterprise-only): scripts use the adapter, as with Vault.
out["sync_config"] = c.adapter.get("/v1/sys/sync/config")["data"]
kv.delete_metadata_and_all_versions(path="app/db", mount_point="hv-kv")
out["after_delete_list"] = "InvalidPath"
try:
    kv.list_secrets(path="app", mount_point="hv-kv")
    out["after_delete_list"] = "no error"
except exceptions.InvalidPath:
    pass
print(json.dumps(out))
