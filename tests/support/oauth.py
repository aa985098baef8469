"""Playing the person at the consent screen: open the authorization URL, read the redirect."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import httpx


async def consent(
    http: httpx.AsyncClient, authorization_url: str, **sandbox: str
) -> dict[str, str]:
    """Follow the authorization URL as a browser would, up to the redirect back to the app;
    returns the query the app's callback receives (code and state, or error and state).
    `sandbox` adds the sandbox's consent choices: user="...", decision="deny"."""
    extra = {f"sandbox_{name}": value for name, value in sandbox.items()}
    url = authorization_url + ("&" + urlencode(extra) if extra else "")
    response = await http.get(url, follow_redirects=False)
    assert response.status_code in (302, 303), (response.status_code, response.text)
    location = response.headers["location"]
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def redirect_target(authorization_url: str) -> str:
    return parse_qs(urlsplit(authorization_url).query)["redirect_uri"][0]
