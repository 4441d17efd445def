"""What the S/4 double's tests share: a plain HTTP client of the double (requests, no product code) and
a deep-insert body as the product sends it."""

from __future__ import annotations

from typing import Any, Protocol

import requests

JSON = {"Accept": "application/json"}


class ServedDouble(Protocol):
    """Where a double serves and who may log on: an S4Simulator, or one running in another process."""

    @property
    def service_url(self) -> str: ...

    @property
    def credentials(self) -> tuple[str, str]: ...


class S4Client:
    """One session (cookies) of a communication user, fetching the CSRF token as SAP's clients do."""

    def __init__(self, simulator: ServedDouble, credentials: tuple[str, str] | None = None) -> None:
        self.root = simulator.service_url
        self.session = requests.Session()
        self.session.auth = credentials or simulator.credentials
        self.token: str | None = None

    def get(self, path: str, *, fetch: bool = False, timeout: float = 10, **params: str) -> requests.Response:
        headers = {**JSON, **({"X-CSRF-Token": "Fetch"} if fetch else {})}
        response = self.session.get(f"{self.root}{path}", headers=headers, params=params, timeout=timeout)
        if fetch and "X-CSRF-Token" in response.headers:
            self.token = response.headers["X-CSRF-Token"]
        return response

    def fetch_token(self) -> str:
        self.get("/", fetch=True)
        assert self.token
        return self.token

    def post(self, path: str, body: Any, *, timeout: float = 10) -> requests.Response:
        if self.token is None:
            self.fetch_token()
        headers = {**JSON, "X-CSRF-Token": self.token or ""}
        return self.session.post(f"{self.root}{path}", json=body, headers=headers, timeout=timeout)

    def patch(self, path: str, body: Any, *, if_match: str | None = None, timeout: float = 10) -> requests.Response:
        if self.token is None:
            self.fetch_token()
        headers = {**JSON, "X-CSRF-Token": self.token or ""}
        if if_match is not None:
            headers["If-Match"] = if_match
        return self.session.patch(f"{self.root}{path}", json=body, headers=headers, timeout=timeout)

    def partners_with_external_id(self, external_id: str) -> list[dict[str, Any]]:
        response = self.get("/A_BusinessPartner", **{"$filter": f"BusinessPartnerIDByExtSystem eq '{external_id}'"})
        assert response.status_code == 200, response.text
        return list(response.json()["d"]["results"])


def partner_body(external_id: str = "001AB00000ABCDEFGH", name: str = "Acme Industrial GmbH") -> dict[str, Any]:
    """A deep insert: the partner, one address with phone and e-mail, the two customer roles."""
    return {
        "BusinessPartnerCategory": "2",
        "BusinessPartnerGrouping": "BP02",
        "OrganizationBPName1": name,
        "SearchTerm1": "ACME",
        "CorrespondenceLanguage": "DE",
        "BusinessPartnerIDByExtSystem": external_id,
        "to_BusinessPartnerAddress": {
            "results": [
                {
                    "StreetName": "Hauptstrasse",
                    "HouseNumber": "5",
                    "PostalCode": "10115",
                    "CityName": "Berlin",
                    "Country": "DE",
                    "Region": "11",
                    "to_PhoneNumber": {"results": [{"PhoneNumber": "030 1234567", "IsDefaultPhoneNumber": True}]},
                    "to_EmailAddress": {
                        "results": [{"EmailAddress": "orders@acme.example", "IsDefaultEmailAddress": True}]
                    },
                }
            ]
        },
        "to_BusinessPartnerRole": {"results": [{"BusinessPartnerRole": "FLCU00"}, {"BusinessPartnerRole": "FLCU01"}]},
    }


def error_of(response: requests.Response) -> dict[str, Any]:
    """SAP's error body: error.code, error.message.value, error.innererror.errordetails[]."""
    return dict(response.json()["error"])
