"""What the API does, as keyword-only functions: the routes (api/routes) and the reviewer pages
(api/ui) both call these, so a decision made on a page is the one the API would make, with the
same checks. Nothing here knows HTTP: a function takes what it needs by name, raises ApiError
to refuse, and returns what it changed; the caller checks scopes and shapes the answer."""
