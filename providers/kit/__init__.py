"""What every provider shares, so a provider module holds only its platform's specifics
(issue 18 item 6; docs/providers.md "The provider kit"):

- `api.PlatformAPI`: the one HTTP call shape, `call(method, path, account, ...)` → JSON.
- `error_table.ErrorTable`: the one error-table shape, HTTP status and platform codes → taxonomy.
- `pages.walk`: the one pager for reconciliation lookups, NotCheckable past its cap.
- `text`: how the platforms count text (weighted, graphemes, UTF-16, UTF-8).
- `media.MediaDownloads`: media fetched through the one guarded fetcher, under the platform's
  byte limit and the worker's deadline.
"""
