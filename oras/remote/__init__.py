"""The wire side of the registry protocol: challenges, scopes, errors, upload bodies, pagination."""
