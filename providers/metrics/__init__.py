"""Reading a live post's metrics and an account's insights, per platform (issue 23)."""
