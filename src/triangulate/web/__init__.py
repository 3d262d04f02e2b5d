"""The commissioners' dashboard: a Django app over the store, authenticated, role-based, audited."""
