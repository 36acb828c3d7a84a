"""Publish a local open-data folder (CSV files + ``datapackage.json``) to a CKAN portal.

The dataset's metadata is created or brought up to date; a file is uploaded only when its sha256
differs from the one kept in the CKAN resource's ``hash`` field, so publishing an unchanged folder
again sends no file and changes nothing. Resources no longer in the folder are deleted.
The API token is never put in a message or a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import requests
from ckanapi import RemoteCKAN
from ckanapi.errors import CKANAPIError, NotAuthorized, NotFound, ValidationError

from publish.metadata import RESOURCE_KEY, LocalDataset, LocalResource, read_folder

log = logging.getLogger(__name__)
USER_AGENT = "orcp-warehouse (ckanapi)"


class CkanPublishError(RuntimeError):
    """CKAN refused or could not be reached; the message names the dataset and CKAN's reason."""

    def __init__(self, dataset: str, message: str):
        super().__init__(message)
        self.dataset = dataset


@dataclass
class ResourceOutcome:
    name: str
    action: str  # created | uploaded | metadata updated | unchanged | deleted
    bytes_uploaded: int = 0
    size: int = 0  # of the local file (0 for a deleted resource)


@dataclass
class PublishReport:
    dataset: str
    url: str
    package: str  # created | updated | unchanged
    resources: list[ResourceOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def bytes_uploaded(self) -> int:
        return sum(outcome.bytes_uploaded for outcome in self.resources)

    @property
    def bytes_skipped(self) -> int:
        return sum(o.size for o in self.resources if o.action in ("unchanged", "metadata updated"))

    @property
    def uploaded(self) -> list[str]:
        return [o.name for o in self.resources if o.action in ("created", "uploaded")]

    @property
    def skipped(self) -> list[str]:
        return [o.name for o in self.resources if o.action in ("unchanged", "metadata updated")]

    @property
    def deleted(self) -> list[str]:
        return [o.name for o in self.resources if o.action == "deleted"]

    @property
    def changed(self) -> bool:
        return self.package != "unchanged" or any(o.action != "unchanged" for o in self.resources)


def publish_folder(folder: Path, ckan_url: str, api_token, organization: str) -> PublishReport:
    """Create or update the CKAN dataset described by ``folder/datapackage.json``.

    api_token may be a str or a pydantic SecretStr. Raises DatapackageError (bad folder, before any
    call to CKAN) or CkanPublishError (CKAN refused or is unreachable)."""
    local = read_folder(Path(folder))
    token = api_token.get_secret_value() if hasattr(api_token, "get_secret_value") else api_token
    with RemoteCKAN(ckan_url, apikey=token, user_agent=USER_AGENT) as remote:
        api = _Api(remote, ckan_url, local.name, token)
        org_id = _ensure_organization(api, organization, local.publisher)
        _check_may_publish(api, org_id, organization)
        package, package_action = _ensure_package(api, local, org_id)
        outcomes = _sync_resources(api, package, local.resources)
        warnings = _licence_warnings(api, local)
    report = PublishReport(local.name, f"{ckan_url.rstrip('/')}/dataset/{local.name}",
                           package_action, outcomes, warnings)
    log.info("CKAN dataset %s: %s; uploaded %s (%d bytes), skipped %s (%d bytes), deleted %s",
             local.name, package_action, report.uploaded, report.bytes_uploaded, report.skipped,
             report.bytes_skipped, report.deleted)
    return report


class _Api:
    """ckanapi calls whose failures become CkanPublishError naming the dataset, token scrubbed."""

    def __init__(self, remote: RemoteCKAN, url: str, dataset: str, token: str):
        self.remote, self.url, self.dataset, self.token = remote, url, dataset, token

    def call(self, action: str, data: dict, upload: Path | None = None) -> dict:
        try:
            if upload is None:
                return self.remote.call_action(action, data)
            with upload.open("rb") as stream:
                return self.remote.call_action(action, data, files={"upload": stream})
        except NotFound:
            raise
        except NotAuthorized as error:
            raise self.error(action, f"not authorised ({_message(error)}); check the API token and "
                                      "that its user may edit the organization") from None
        except ValidationError as error:
            details = {k: v for k, v in error.error_dict.items() if k != "__type"}
            raise self.error(action, f"validation failed: {details}") from None
        except CKANAPIError as error:
            raise self.error(action, f"CKAN error: {error}") from None
        except requests.RequestException as error:
            raise self.error(action, f"cannot reach CKAN ({type(error).__name__}: {error})") from None

    def find(self, action: str, id: str) -> dict | None:
        try:
            return self.call(action, {"id": id})
        except NotFound:
            return None

    def error(self, action: str, reason: str) -> CkanPublishError:
        message = f"CKAN at {self.url}, {action} of dataset {self.dataset!r}: {reason}"
        if self.token:
            message = message.replace(self.token, "***")
        return CkanPublishError(self.dataset, message)


def _message(error: Exception) -> str:
    detail = error.args[0] if error.args else ""
    return detail.get("message", str(detail)) if isinstance(detail, dict) else str(detail)


def _ensure_organization(api: _Api, organization: str, publisher: str | None) -> str:
    found = api.find("organization_show", organization)
    if found:
        return found["id"]
    log.info("creating CKAN organization %s", organization)
    created = api.call("organization_create", {"name": organization, "title": publisher or organization})
    return created["id"]


def _check_may_publish(api: _Api, org_id: str, organization: str) -> None:
    """Fail early, even when nothing would be written: CKAN takes an invalid token as anonymous."""
    allowed = api.call("organization_list_for_user", {"permission": "create_dataset"})
    if org_id not in {org["id"] for org in allowed}:
        raise api.error("publish", f"not authorised: the API token is invalid or expired, or its user "
                                   f"may not create datasets in organization {organization!r}")


def _ensure_package(api: _Api, local: LocalDataset, org_id: str) -> tuple[dict, str]:
    desired = {**local.package, "owner_org": org_id}
    current = api.find("package_show", local.name)
    if current is None:
        return api.call("package_create", desired), "created"
    desired["state"] = "active"  # a deleted dataset of the same name comes back
    if not _package_differs(current, desired):
        return current, "unchanged"
    return api.call("package_patch", {"id": current["id"], **desired}), "updated"


def _package_differs(current: dict, desired: dict) -> bool:
    for key, value in desired.items():
        if key == "tags":
            same = sorted(t["name"] for t in current.get("tags", [])) == sorted(t["name"] for t in value)
        elif key == "extras":
            same = _extras_dict(current.get("extras", [])) == _extras_dict(value)
        else:
            same = _text(current.get(key)) == _text(value)
        if not same:
            return True
    return False


def _sync_resources(api: _Api, package: dict, resources: list[LocalResource]) -> list[ResourceOutcome]:
    current_by_key = {r.get(RESOURCE_KEY): r for r in package.get("resources", []) if r.get(RESOURCE_KEY)}
    outcomes, final_ids, created_ids = [], [], []
    for resource in resources:
        current = current_by_key.pop(resource.key, None)
        outcome, resource_id = _sync_resource(api, package["id"], current, resource)
        outcomes.append(outcome)
        final_ids.append(resource_id)
        if current is None:
            created_ids.append(resource_id)
    for stale in package.get("resources", []):
        if stale["id"] not in final_ids:
            api.call("resource_delete", {"id": stale["id"]})
            outcomes.append(ResourceOutcome(stale.get("name") or stale["id"], "deleted"))
    kept_order = [r["id"] for r in package.get("resources", []) if r["id"] in final_ids]
    if kept_order + created_ids != final_ids:
        api.call("package_resource_reorder", {"id": package["id"], "order": final_ids})
    return outcomes


def _sync_resource(api: _Api, package_id: str, current: dict | None,
                   resource: LocalResource) -> tuple[ResourceOutcome, str]:
    name = resource.fields["name"]
    if current is None:
        created = api.call("resource_create", {"package_id": package_id, **resource.fields}, resource.path)
        return ResourceOutcome(name, "created", resource.size, resource.size), created["id"]
    if current.get("hash") != resource.sha256 or current.get("url_type") != "upload":
        api.call("resource_patch", {"id": current["id"], **resource.fields}, resource.path)
        return ResourceOutcome(name, "uploaded", resource.size, resource.size), current["id"]
    if any(_text(current.get(key)) != _text(value) for key, value in resource.fields.items()):
        api.call("resource_patch", {"id": current["id"], **resource.fields})
        return ResourceOutcome(name, "metadata updated", 0, resource.size), current["id"]
    return ResourceOutcome(name, "unchanged", 0, resource.size), current["id"]


def _licence_warnings(api: _Api, local: LocalDataset) -> list[str]:
    licence = local.package["license_id"]
    known = {item["id"] for item in api.call("license_list", {})}
    if licence in known:
        return []
    return [f"licence {licence!r} is not in the portal's licence list: CKAN shows it without title or link"]


def _extras_dict(extras: list[dict]) -> dict[str, str]:
    return {extra["key"]: _text(extra["value"]) for extra in extras}


def _text(value) -> str:
    return "" if value is None else str(value)
