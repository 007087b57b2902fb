from rest_framework.authentication import TokenAuthentication as _TokenAuthentication


class TokenAuthentication(_TokenAuthentication):
    """`Authorization: Token <key>`, as issued by `ctip token USERNAME`."""
